"""`unclip generate PROMPT [PROMPT ...] [-n N] [--seed S] [-o FILE]`: text to images.

One grid image (a row per prompt, or a square of one prompt's images), or with --separate one
file per image (apple_0.png, apple_1.png, ...). Files are written atomically.

Every number and every output path is checked before the model loads, and the sampling budget
before sampling starts, so a bad request fails in seconds with one line and writes nothing.
"""

from __future__ import annotations

import argparse


def add_parser(sub) -> None:
    parser = sub.add_parser("generate", help="generate images from text prompts")
    parser.add_argument("prompts", nargs="+", metavar="PROMPT", help="what to draw, e.g. 'a red apple'")
    parser.add_argument("-n", "--num-images", type=int, default=1, help="images per prompt (default 1)")
    parser.add_argument("--seed", type=int, default=None, help="same seed, same images (default: random)")
    parser.add_argument("-o", "--output", default="unclip.png", help="output file (default unclip.png)")
    parser.add_argument("--separate", action="store_true", help="one file per image: OUTPUT_0.png, OUTPUT_1.png, ...")
    parser.add_argument("--model", default=None, help="model name from registry.yaml or a pipeline folder (default: the default model)")
    parser.add_argument("--prior-guidance", type=float, default=None, help="classifier-free guidance of the prior")
    parser.add_argument("--decoder-guidance", type=float, default=None, help="classifier-free guidance of the decoder")
    parser.add_argument("--prior-steps", type=int, default=None, help="sampler steps of the prior")
    parser.add_argument("--decoder-steps", type=int, default=None, help="sampler steps of the decoder")
    parser.add_argument("--upsampler-steps", type=int, default=None, help="sampler steps of every upsampler")
    for stage in ("prior", "decoder", "upsampler"):
        parser.add_argument(
            f"--{stage}-sampler", default=None, metavar="TYPE",
            help=f"sampler type of the {stage} for this run (keeps its steps; see `unclip plugins`)",
        )
    parser.add_argument(
        "--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
        help="override the model's graph at load, e.g. --set decoder.sampler.steps=25 (repeatable)",
    )
    parser.add_argument(
        "--max-pixels", type=int, default=None, metavar="N",
        help="refuse requests of more output pixels than N (default: UNCLIP_MAX_PIXELS or 2^26)",
    )
    parser.add_argument("--device", default=None, help="cpu, cuda, cuda:1, ... (default: cuda when available)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    parser.set_defaults(run=run)


def check_arguments(args: argparse.Namespace) -> list:
    """Check every number and output path of the command before anything loads; return the output paths."""
    from ..budget import max_pixels
    from ..errors import InputError
    from ..image_output import check_outputs, numbered
    from ..limits import COUNT, GUIDANCE, SEED, STEPS

    COUNT.check("-n/--num-images", args.num_images)
    SEED.check("--seed", args.seed)
    for stage in ("prior", "decoder"):
        GUIDANCE.check(f"--{stage}-guidance", getattr(args, f"{stage}_guidance"))
    for stage in ("prior", "decoder", "upsampler"):
        STEPS.check(f"--{stage}-steps", getattr(args, f"{stage}_steps"))
    if args.max_pixels is not None and args.max_pixels < 1:
        raise InputError(f"--max-pixels must be a whole number of at least 1, got {args.max_pixels}")
    max_pixels(args.max_pixels)  # an unusable UNCLIP_MAX_PIXELS fails here, before the model loads
    if not args.separate:
        return check_outputs([args.output])
    # The numbered names share one folder and suffix, so the first and the last stand for all.
    count = len(args.prompts) * args.num_images
    return check_outputs(numbered(args.output, i) for i in sorted({0, count - 1}))


def run(args: argparse.Namespace) -> None:
    from ..image_output import grid, numbered, save_image, square_columns
    from ..pipeline import Pipeline
    from .data import checked_device
    from .notes import show_notes

    check_arguments(args)
    device = checked_device(args.device)
    show_notes()
    pipe = Pipeline.from_pretrained(args.model, overrides=args.overrides).to(device)
    images = pipe(
        args.prompts,
        num_images=args.num_images,
        seed=args.seed,
        progress=not args.no_progress,
        prior_guidance=args.prior_guidance,
        decoder_guidance=args.decoder_guidance,
        prior_steps=args.prior_steps,
        decoder_steps=args.decoder_steps,
        upsampler_steps=args.upsampler_steps,
        prior_sampler=args.prior_sampler,
        decoder_sampler=args.decoder_sampler,
        upsampler_sampler=args.upsampler_sampler,
        budget=args.max_pixels,
    )
    if args.separate:
        paths = [save_image(image, numbered(args.output, i)) for i, image in enumerate(images)]
        print(f"wrote {len(paths)} images: {paths[0]} ... {paths[-1]}" if len(paths) > 1 else f"wrote {paths[0]}")
        return
    # One prompt: as square a sheet as possible; several: a row per prompt.
    columns = square_columns(len(images)) if len(args.prompts) == 1 else args.num_images
    print(f"wrote {save_image(grid(images, columns), args.output)}")
