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
    add_untrained_encoder_argument(parser)
    parser.add_argument("--device", help="default: cuda when available")
    parser.set_defaults(run=run)


def add_untrained_encoder_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--allow-untrained-encoder", action="store_true",
        help="embed even when the encoder has no trained weights (random embeddings: only for tests)",
    )


def require_trained_encoder(graph, allow_untrained: bool) -> None:
    """Refuse an encoder that would embed with random weights: neither its run trained it nor
    does its config bring weights. Embeddings of a random encoder look like any others."""
    from ..errors import InputError
    from ..plugins import get_registry
    from ..training.stages import pipeline_dir

    weights = pipeline_dir(graph) / "encoder.safetensors"
    encoder = get_registry().get("encoder", graph.encoder.type)
    if allow_untrained or weights.is_file() or encoder.is_pretrained(graph.encoder.config):
        return
    raise InputError(
        f"the encoder '{graph.encoder.type}' is untrained: {weights} does not exist and encoder.pretrained "
        f"names no weights, so every embedding would be random; train it first (unclip train clip --config ...), "
        "or pass --allow-untrained-encoder to embed anyway"
    )


def check_output_folder(out: str) -> None:
    """An output folder must be creatable: not an existing file, and under a writable existing folder."""
    import os
    from pathlib import Path

    from ..errors import InputError

    path = Path(out)
    if path.exists() and not path.is_dir():
        raise InputError(f"--out {path} is a file, not a folder; give a folder name (it is created)")
    parent = next((p for p in path.absolute().parents if p.exists()), None)
    if parent is None or not parent.is_dir() or not os.access(parent, os.W_OK | os.X_OK):
        raise InputError(f"cannot create {path}: no permission to write in {parent}; choose another --out")


def run(args: argparse.Namespace) -> None:
    from ..embeddings import export_embeddings, trained_encoder
    from ..errors import InputError
    from ..graph import build_node, load_graph
    from ..plugins import get_registry
    from .data import checked_device

    if args.shard_size < 1:
        raise InputError(f"--shard-size must be at least 1, got {args.shard_size}")
    graph = load_graph(args.config, args.overrides)
    if graph.data is None:
        types = ", ".join(get_registry().names("dataset"))
        raise InputError(f"{args.config} has no data: section to embed; add one, data: {{type: NAME}} with NAME one of: {types}")
    check_output_folder(args.out)
    source = build_node(graph.data, get_registry())
    splits = {"train": source.train_set(), "val": source.val_set()}  # a missing data folder is named first
    require_trained_encoder(graph, args.allow_untrained_encoder)
    encoder = trained_encoder(graph, checked_device(args.device))
    folder = export_embeddings(graph, encoder, splits, args.out, args.shard_size, graph.data.config.batch_size)
    counts = ", ".join(f"{len(d)} {name}" for name, d in splits.items())
    print(f"embedded {counts} items of '{graph.data.type}' into {folder}")
