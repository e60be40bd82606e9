"""`unclip embed --config FILE --out DIR [key=value ...]`: precompute the encoder's embeddings of
the graph's data (train and val), for training a prior without images."""

from __future__ import annotations

import argparse

from .config import add_graph_arguments


def add_parser(sub) -> None:
    parser = sub.add_parser("embed", help="store the encoder's embeddings of the data, for prior training")
    add_graph_arguments(parser)
    parser.add_argument("--out", required=True, help="output folder (index.json + safetensors shards)")
    parser.add_argument("--shard-size", type=int, default=4096, help="rows per safetensors shard")
    parser.add_argument("--device", help="default: cuda when available")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> None:
    from ..embeddings import export_embeddings, trained_encoder
    from ..errors import InputError
    from ..graph import build_node, load_graph
    from ..plugins import get_registry
    from .data import default_device

    if args.shard_size < 1:
        raise InputError(f"--shard-size must be at least 1, got {args.shard_size}")
    graph = load_graph(args.config, args.overrides)
    if graph.data is None:
        types = ", ".join(get_registry().names("dataset"))
        raise InputError(f"{args.config} has no data: section to embed; add one, data: {{type: NAME}} with NAME one of: {types}")
    source = build_node(graph.data, get_registry())
    encoder = trained_encoder(graph, args.device or default_device())
    splits = {"train": source.train_set(), "val": source.val_set()}
    folder = export_embeddings(graph, encoder, splits, args.out, args.shard_size, graph.data.config.batch_size)
    counts = ", ".join(f"{len(d)} {name}" for name, d in splits.items())
    print(f"embedded {counts} items of '{graph.data.type}' into {folder}")
