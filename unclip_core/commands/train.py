"""`unclip train STAGE --config FILE [key=value ...]`: train one stage of a graph."""

from __future__ import annotations

import argparse

from .config import add_graph_arguments

STAGES = ("clip",)


def add_parser(sub) -> None:
    parser = sub.add_parser("train", help="train a stage of the pipeline")
    parser.add_argument("stage", choices=STAGES, help="which stage to train")
    add_graph_arguments(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> None:
    from ..graph import load_graph
    from ..training import stages

    graph = load_graph(args.config, args.overrides)
    trainers = {"clip": stages.train_clip}
    folder = trainers[args.stage](graph)
    print(f"trained {args.stage}; pipeline saved to {folder}")
