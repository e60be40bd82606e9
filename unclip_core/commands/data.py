"""`unclip data export --data TYPE --out DIR [--config FILE] [--split ...] [key=value ...]`:
a data source as webdataset tar shards (see unclip_core/shards.py)."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

SPLITS = ("train", "val")


def add_parser(sub) -> None:
    parser = sub.add_parser("data", help="prepare training data")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    export = actions.add_parser("export", help="write a data source as webdataset tar shards")
    export.add_argument("--data", help="dataset type, one listed by `unclip plugins` (default: the config's data section)")
    export.add_argument("--config", help="YAML graph whose data: section (and encoder, for --embeddings) to use")
    export.add_argument("--out", required=True, help="output folder; shards go to OUT/train and OUT/val")
    export.add_argument("--split", choices=(*SPLITS, "all"), default="all", help="which split to write")
    export.add_argument("--shard-size", type=int, default=10000, help="samples per tar shard")
    export.add_argument("--embeddings", action="store_true", help="also store the encoder's image and text embeddings")
    export.add_argument("--device", help="device for --embeddings (default: cuda when available)")
    export.add_argument("--allow-untrained-encoder", action="store_true",
                        help="with --embeddings: embed even when the config's encoder has no trained weights")
    export.add_argument("overrides", nargs="*", metavar="KEY=VALUE", help="e.g. data.image_size=32")
    export.set_defaults(run=run_export)


def data_section(config: str | None, data_type: str | None, overrides: Sequence[str]):
    """(the data node to export, the whole graph when --config gave one, else None)."""
    from omegaconf import OmegaConf

    from ..errors import ConfigError, InputError
    from ..graph import apply_overrides, load_graph, validate_node
    from ..plugins import get_registry

    if config is None and data_type is None:
        raise InputError("say which data to export: --data TYPE (see `unclip plugins`) or --config FILE with a data: section")
    retype = [f"data.type={data_type}"] if data_type else []
    if config is not None:
        graph = load_graph(config, [*retype, *overrides])
        if graph.data is None:
            raise InputError(f"{config} has no data: section; add one or pass --data TYPE")
        return graph.data, graph
    registry = get_registry()
    raw = apply_overrides(OmegaConf.create({"data": {"type": data_type}}), overrides, registry)
    extra = sorted(set(raw) - {"data"})
    if extra:
        raise ConfigError(f"without --config only data.* keys can be set, not {', '.join(extra)}")
    return validate_node("data", "dataset", OmegaConf.to_container(raw.data, resolve=True), registry), None


def default_device() -> str:
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def checked_device(name: str | None) -> str:
    """--device as given (or the default), refused before any work when it names no usable device."""
    import torch

    from ..errors import InputError

    if name is None:
        return default_device()
    try:
        device = torch.device(name)
    except (RuntimeError, ValueError):
        raise InputError(f"--device {name!r} is not a device; use cpu, cuda or cuda:N") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise InputError(f"--device {name} asks for CUDA, but no CUDA device is available here; use --device cpu")
    if device.type == "cuda" and device.index is not None and device.index >= torch.cuda.device_count():
        raise InputError(f"--device {name}: there are only {torch.cuda.device_count()} CUDA devices (cuda:0 to cuda:{torch.cuda.device_count() - 1})")
    return name


def run_export(args: argparse.Namespace) -> None:
    from pathlib import Path

    from ..embeddings import trained_encoder
    from ..errors import InputError
    from ..graph import build_node
    from ..plugins import get_registry
    from ..shards import write_shards
    from .embed import check_output_folder, require_trained_encoder

    if args.shard_size < 1:
        raise InputError(f"--shard-size must be at least 1, got {args.shard_size}")
    check_output_folder(args.out)
    data, graph = data_section(args.config, args.data, args.overrides)
    source = build_node(data, get_registry())
    embed = None
    if args.embeddings:
        if graph is None:
            raise InputError("--embeddings needs --config FILE: the graph whose encoder (trained in its run_dir) embeds the data")
        require_trained_encoder(graph, args.allow_untrained_encoder)
        encoder = trained_encoder(graph, checked_device(args.device))

        def embed(images, captions):
            device = next(encoder.parameters()).device
            return encoder.encode_image(images.to(device)), encoder.embed_texts(captions).embedding

    splits = SPLITS if args.split == "all" else (args.split,)
    for split in splits:
        dataset = source.train_set() if split == "train" else source.val_set()
        folder = write_shards(
            dataset, Path(args.out) / split, split, args.shard_size, data.config.batch_size, embed
        )
        print(f"wrote {len(dataset)} {split} samples of '{data.type}' to {folder}")
