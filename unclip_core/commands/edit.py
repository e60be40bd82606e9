"""The editing commands: one `unclip <command>` per registered editing operation.

Each is generated from the operation's declarations (command name, positional arguments,
layout) and its Config and Inputs fields. It loads a pipeline (--model: a folder or a
registered name; default: registry.yaml's default_model; --set: overrides of its graph, as for
`unclip generate`), runs the operation, and writes one
image file: a grid or strip when there are several results, plus an animated GIF with --gif
for operations that make frames.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ..image_output import check_outputs
from ..interfaces import EditingOperation
from .field_options import add_field_arguments, given_options
from .notes import show_notes


def add_parser(sub) -> None:
    from ..plugins import get_registry

    for entry in get_registry().entries():
        if entry.kind == "editing":
            add_command(sub, entry.cls, entry.plugin)


def add_command(sub, cls: type[EditingOperation], plugin: str) -> argparse.ArgumentParser:
    summary = cls.summary()
    parser = sub.add_parser(cls.command_name(), help=summary, description=summary, owner=plugin)
    add_field_arguments(parser, cls, plugin)
    parser.add_argument("--model", help="pipeline folder or registered model name (default: registry.yaml's default_model)")
    if "seed" in cls.option_fields():
        # Reproducible by default on the command line; Python callers pass seed=None for fresh randomness.
        parser.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    parser.add_argument("-o", "--out", required=True, help="output image file (.png, .jpg, .webp)")
    if cls.layout == "frames":
        parser.add_argument("--gif", help="also write the frames as an animated GIF here")
    parser.add_argument(
        "--set", dest="graph_overrides", action="append", default=[], metavar="KEY=VALUE",
        help="override the model's graph at load, e.g. --set decoder.guidance_scale=3 (repeatable)",
    )
    parser.add_argument("--device", help="default: cuda when available")
    parser.add_argument("--force", action="store_true", help="write even when an output is also an input")
    parser.set_defaults(run=run, operation=cls)
    return parser


def run(args: argparse.Namespace) -> None:
    from ..pipeline_editing import prepare_edit

    cls: type[EditingOperation] = args.operation
    options = given_options(args, cls)
    if "seed" in cls.option_fields():
        options["seed"] = args.seed
    edit = prepare_edit(cls, options)  # bad options fail before the model loads
    check_outputs([args.out, getattr(args, "gif", None)], inputs=input_files(options), force=args.force)
    images = edit.apply(_pipeline(args))
    _write(images, args.out, cls.layout)
    if getattr(args, "gif", None):
        from ..image_output import save_gif

        save_gif(images, args.gif)
        print(f"wrote an animated GIF to {args.gif}")


def input_files(options: dict) -> list[Path]:
    """Every option value that names an existing file (images, masks), however nested."""
    found, pending = [], list(options.values())
    while pending:
        value = pending.pop()
        if isinstance(value, (list, tuple)):
            pending.extend(value)
        elif isinstance(value, (str, Path)) and Path(value).is_file():
            found.append(Path(value))
    return found


def _pipeline(args: argparse.Namespace):
    from ..pipeline import Pipeline
    from .data import default_device

    show_notes()
    return Pipeline.from_pretrained(args.model, overrides=args.graph_overrides).to(args.device or default_device())


def _write(images, path: str, layout: str) -> None:
    from ..image_output import grid, save_image, square_columns

    columns = square_columns(len(images)) if layout == "grid" else None
    save_image(images[0] if len(images) == 1 else grid(images, columns), path)
    print(f"wrote {len(images)} image{'s' if len(images) > 1 else ''} to {path}")
