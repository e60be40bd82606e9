"""The editing commands: `unclip vary | interpolate | textdiff | inpaint | outpaint`.

Each loads a pipeline (--model: a folder or a registered name; default: registry.yaml's
default_model), runs the editing operation of the same name, and writes one PNG (a grid or
strip when there are several results). Masks are white where the image is regenerated.
"""

from __future__ import annotations

import argparse
import logging
import math


def add_parser(sub) -> None:
    vary = _command(sub, "vary", "variations of an image (its CLIP embedding decoded again)", run_vary)
    vary.add_argument("image", help="the source image")
    vary.add_argument("-n", type=int, default=4, help="how many variations (default 4)")
    vary.add_argument("--eta", type=float, default=0.8, help="DDIM eta: 0 reconstructs, larger varies more")
    vary.add_argument("--fresh-noise", action="store_true", help="start from new noise, not the image's inverted x_T")
    vary.add_argument("--prompt", default="", help="caption the decoder sees (default: none)")

    interp = _command(sub, "interpolate", "frames between two images (or two prompts)", run_interpolate)
    interp.add_argument("images", nargs="*", metavar="IMAGE", help="the two end images")
    interp.add_argument("--prompts", nargs=2, metavar=("A", "B"), help="interpolate two prompts instead, via the prior")
    interp.add_argument("--frames", type=int, default=8, help="frames, both ends included (default 8)")
    interp.add_argument("--latent", choices=["inverted", "fixed"], default="inverted",
                        help="x_T slerped between both images' inversions, or one fixed noise")
    interp.add_argument("--gif", help="also write the frames as an animated GIF here")

    diff = _command(sub, "textdiff", "move an image along the direction between two captions", run_textdiff)
    diff.add_argument("image", help="the source image")
    diff.add_argument("--from", dest="source", required=True, help="caption of what the image shows")
    diff.add_argument("--to", dest="target", required=True, help="caption of what it should show")
    diff.add_argument("--steps", type=int, default=5, help="frames from the image to --max-theta (default 5)")
    diff.add_argument("--max-theta", type=float, default=0.5, help="largest slerp weight of the direction (default 0.5)")

    inpaint = _command(sub, "inpaint", "regenerate the white region of a mask", run_inpaint)
    inpaint.add_argument("image", help="the image to edit")
    inpaint.add_argument("prompt", help="what to put in the region; \"\" uses the image's own embedding")
    inpaint.add_argument("--mask", required=True, help="mask image: white = regenerate, black = keep")
    _fill_arguments(inpaint)

    outpaint = _command(sub, "outpaint", "extend the canvas and fill the new border", run_outpaint)
    outpaint.add_argument("image", help="the image to extend")
    outpaint.add_argument("prompt", help="what the border shows; \"\" uses the image's own embedding")
    outpaint.add_argument("--pad", type=int, help="pixels added on every side (of the input image)")
    for side in ("left", "right", "top", "bottom"):
        outpaint.add_argument(f"--pad-{side}", type=int, help=f"pixels added on the {side} (overrides --pad)")
    _fill_arguments(outpaint)


def _command(sub, name: str, help: str, run) -> argparse.ArgumentParser:
    parser = sub.add_parser(name, help=help)
    parser.add_argument("--model", help="pipeline folder or registered model name (default: registry.yaml's default_model)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("-o", "--out", required=True, help="output PNG")
    parser.add_argument("--device", help="default: cuda when available")
    parser.set_defaults(run=run)
    return parser


def _fill_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-n", type=int, default=1, help="how many results (default 1)")
    parser.add_argument("--resample", type=int, default=1, help="RePaint resampling passes (default 1: off)")
    parser.add_argument("--jump", type=int, default=5, help="steps per resampling jump (default 5)")


def _pipeline(args: argparse.Namespace):
    from ..pipeline import Pipeline
    from .data import default_device

    _show_notes()
    return Pipeline.from_pretrained(args.model).to(args.device or default_device())


def _show_notes() -> None:
    """Print the operations' notes (e.g. that an input was resized) on stderr."""
    log = logging.getLogger("unclip.editing")
    if not log.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("note: %(message)s"))
        log.addHandler(handler)
        log.setLevel(logging.INFO)


def _write(images, path: str, columns: int | None = None) -> None:
    from ..image_output import grid, save_image

    save_image(images[0] if len(images) == 1 else grid(images, columns), path)
    print(f"wrote {len(images)} image{'s' if len(images) > 1 else ''} to {path}")


def run_vary(args: argparse.Namespace) -> None:
    images = _pipeline(args).vary(args.image, n=args.n, eta=args.eta, keep_latent=not args.fresh_noise,
                                  prompt=args.prompt, seed=args.seed)
    _write(images, args.out, columns=math.ceil(math.sqrt(len(images))))


def run_interpolate(args: argparse.Namespace) -> None:
    from ..errors import InputError
    from ..image_output import save_gif

    if args.prompts is None and len(args.images) != 2:
        raise InputError(f"give two images to interpolate between (got {len(args.images)}), or --prompts A B")
    if args.prompts is not None and args.images:
        raise InputError("give either two images or --prompts A B, not both")
    a, b = args.images if args.images else (None, None)
    frames = _pipeline(args).interpolate(a, b, prompts=args.prompts, frames=args.frames, latent=args.latent, seed=args.seed)
    _write(frames, args.out)
    if args.gif:
        save_gif(frames, args.gif)
        print(f"wrote an animated GIF to {args.gif}")


def run_textdiff(args: argparse.Namespace) -> None:
    frames = _pipeline(args).text_diff(args.image, args.source, args.target, steps=args.steps,
                                       max_theta=args.max_theta, seed=args.seed)
    _write(frames, args.out)


def run_inpaint(args: argparse.Namespace) -> None:
    images = _pipeline(args).inpaint(args.image, args.mask, args.prompt or None, n=args.n, resample=args.resample,
                                     jump=args.jump, seed=args.seed)
    _write(images, args.out)


def run_outpaint(args: argparse.Namespace) -> None:
    images = _pipeline(args).outpaint(
        args.image, args.prompt or None, pad=args.pad, pad_left=args.pad_left, pad_right=args.pad_right,
        pad_top=args.pad_top, pad_bottom=args.pad_bottom, n=args.n, resample=args.resample, jump=args.jump,
        seed=args.seed,
    )
    _write(images, args.out)
