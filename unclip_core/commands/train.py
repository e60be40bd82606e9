"""`unclip train STAGE --config FILE [key=value ...]`: train one stage of a graph, or `all` of them."""

from __future__ import annotations

import argparse

from importlib import import_module

from .config import add_graph_arguments

# stage -> (module, function). Imported only when that stage runs: Lightning is slow to import.
STAGES = {
    "clip": ("unclip_core.training.clip", "train_clip"),
    "prior": ("unclip_core.training.prior", "train_prior"),
    "decoder": ("unclip_core.training.decoder", "train_decoder"),
    "upsampler": ("unclip_core.training.upsampler", "train_upsampler"),
    "all": ("unclip_core.training.recipe", "train_all"),  # every stage above, in order
}


def add_parser(sub) -> None:
    parser = sub.add_parser("train", help="train a stage of the pipeline")
    parser.add_argument("stage", choices=list(STAGES), help="which stage to train; `all` trains every stage in order, skipping finished ones")
    add_graph_arguments(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> None:
    from ..graph import load_graph
    from ..training.distributed import is_main_process, leave_process_group

    graph = load_graph(args.config, args.overrides)
    module, function = STAGES[args.stage]
    try:
        folder = getattr(import_module(module), function)(graph)
    finally:
        leave_process_group()
    if is_main_process():  # one line for the run, not one per process
        print(f"trained {args.stage}; pipeline saved to {folder}")
