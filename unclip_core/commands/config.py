"""`unclip config show --config FILE [key=value ...]`: the resolved, validated graph.

It runs the same checks as building the graph does (on the meta device: no memory, no weight
files), so a graph it prints is one that `train` and `generate` accept.
"""

from __future__ import annotations

import argparse


def add_parser(sub) -> None:
    parser = sub.add_parser("config", help="inspect YAML graphs")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    show = actions.add_parser("show", help="print the resolved, validated graph")
    add_graph_arguments(show)
    show.set_defaults(run=run_show)


def add_graph_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", required=True, help="YAML graph file (or a name under configs/)")
    parser.add_argument("overrides", nargs="*", metavar="KEY=VALUE", help="e.g. prior.sampler.steps=32 decoder.guidance_scale=4")


def run_show(args: argparse.Namespace) -> None:
    from ..graph import check_buildable, load_graph

    graph = load_graph(args.config, args.overrides)
    check_buildable(graph)  # the checks generate and train run when they build, e.g. dimension clashes
    print(graph.to_yaml(), end="")
