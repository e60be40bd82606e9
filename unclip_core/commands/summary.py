"""`unclip summary --config FILE [KEY=VALUE ...] [--batch N] [--precision P] [--strategy S]
[--devices N] [--json FILE] [--jobs N]`: parameters, FLOPs and GPU memory of every stage's training step.

Every stage is built on the meta device: no weights are allocated and no weight file is read,
so a graph of billions of parameters is summarized in seconds on any machine (docs/scaling.md).
"""

from __future__ import annotations

import argparse

from .config import add_graph_arguments


def add_parser(sub) -> None:
    parser = sub.add_parser(
        "summary", help="parameters, GFLOP per image and GPU memory of each stage's training step",
        description="Parameters, GFLOP per training image and the memory one training step needs per GPU, "
        "for every stage of a graph, without allocating it.",
    )
    add_graph_arguments(parser)
    parser.add_argument("--batch", default=None, metavar="N",
                        help="images per GPU per step (default: each stage's train.<stage>.batch_size, else data.batch_size)")
    parser.add_argument("--precision", default=None, metavar="P",
                        help="bf16-mixed or 32-true (default: the graph's trainer.precision; auto is bf16-mixed)")
    parser.add_argument("--strategy", default=None, metavar="S",
                        help="ddp (a full copy per GPU) or fsdp (model state sharded) (default: the graph's trainer.strategy)")
    parser.add_argument("--devices", default=None, metavar="N",
                        help="GPUs in all (default: the graph's trainer.devices x trainer.num_nodes)")
    parser.add_argument("--json", default=None, metavar="FILE", help="also write the numbers to FILE as JSON")
    parser.add_argument("--jobs", default=None, metavar="N",
                        help="stages measured in N processes at once (default: one per CPU core)")
    parser.set_defaults(run=run)


def whole_number(flag: str, text: str | None) -> int | None:
    """`text` as a count of at least 1 (None stays None: the graph's value); else one line naming the flag."""
    from ..errors import InputError

    if text is None:
        return None
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise InputError(f"{flag} must be a whole number of at least 1, got '{text}'")
    return value


def checked_json_path(text: str | None):
    """--json's file, refused before any work when it cannot be written."""
    import os
    from pathlib import Path

    from ..errors import InputError

    if text is None:
        return None
    path = Path(text)
    if path.is_dir():
        raise InputError(f"cannot write {path}: it is a folder; give a file name such as {path / 'summary.json'}")
    if not path.parent.is_dir():
        raise InputError(f"cannot write {path}: folder {path.parent} does not exist; create it first")
    if not os.access(path.parent, os.W_OK | os.X_OK):
        raise InputError(f"cannot write {path}: no permission to write there; choose another folder")
    return path


def run(args: argparse.Namespace) -> None:
    import json

    from ..atomic import atomic_file
    from ..graph import load_graph
    from ..plugins import get_registry
    from ..summary import render, resolve_options, summarize, to_json
    from ..summary.side_by_side import default_processes

    json_path = checked_json_path(args.json)
    jobs = whole_number("--jobs", args.jobs) or default_processes()
    graph = load_graph(args.config, args.overrides)
    options = resolve_options(
        graph, precision=args.precision, strategy=args.strategy,
        devices=whole_number("--devices", args.devices), batch=whole_number("--batch", args.batch),
    )
    summary = summarize(graph, args.config, options, get_registry(), processes=jobs)
    print(render(summary))
    if json_path is not None:
        with atomic_file(json_path) as path:
            path.write_text(json.dumps(to_json(summary), indent=2) + "\n")
