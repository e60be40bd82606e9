"""Precomputed CLIP embeddings: run the graph's encoder over a data source once, store the result.

A prior trains on these without touching images. The folder (see docs/data.md):
  index.json                  {"format", "encoder", "embed_dim", "context_length", "text_width",
                               "splits": {"train": {"count", "shards": [{"file", "captions", "count"}]}, "val": ...}}
  <split>-00000.safetensors   image_embedding (N, D) f16, text_embedding (N, D) f16,
                              text_tokens (N, L, W) f16, text_mask (N, L) bool
  <split>-00000.json          the N captions, in row order
Written into a temporary folder and renamed into place.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import torch
from safetensors.torch import save_file
from torch.utils.data import DataLoader, Dataset

from .atomic import atomic_folder
from .graph import Graph, build_node
from .interfaces import Encoder
from .weights import load_module

EMBEDDINGS_FORMAT = "unclip.embeddings/1"
INDEX_FILE = "index.json"
TENSOR_KEYS = ("image_embedding", "text_embedding", "text_tokens", "text_mask")


def trained_encoder(graph: Graph, device: str | torch.device = "cpu") -> Encoder:
    """The graph's encoder, with the weights its run trained when there are any."""
    from .plugins import get_registry
    from .training.stages import pipeline_dir

    encoder = build_node(graph.encoder, get_registry())
    weights = pipeline_dir(graph) / "encoder.safetensors"
    if weights.is_file():
        load_module(encoder, weights)
    return encoder.to(device).eval()


@torch.no_grad()
def embed_batches(encoder: Encoder, dataset: Dataset, batch_size: int) -> Iterator[tuple[dict[str, torch.Tensor], list[str]]]:
    """(tensors of TENSOR_KEYS on the CPU, captions) per batch, in dataset order."""
    device = next(encoder.parameters()).device
    for batch in DataLoader(dataset, batch_size=batch_size, shuffle=False):
        captions = list(batch["caption"])
        text = encoder.embed_texts(captions)
        image = encoder.encode_image(batch["image"].to(device))
        tensors = {
            "image_embedding": image.half().cpu(),
            "text_embedding": text.embedding.half().cpu(),
            "text_tokens": text.tokens.half().cpu(),
            "text_mask": text.mask.bool().cpu(),
        }
        yield tensors, captions


def write_split(encoder: Encoder, dataset: Dataset, folder: Path, split: str, shard_size: int, batch_size: int) -> dict:
    """Embed `dataset` into `<split>-NNNNN.safetensors/.json` shards in `folder`; the split's index entry."""
    shards: list[dict] = []
    pending: list[tuple[dict[str, torch.Tensor], list[str]]] = []
    pending_rows = 0

    def flush() -> None:
        nonlocal pending, pending_rows
        if not pending_rows:
            return
        tensors = {key: torch.cat([t[key] for t, _ in pending]).contiguous() for key in TENSOR_KEYS}
        captions = [c for _, cs in pending for c in cs]
        stem = f"{split}-{len(shards):05d}"
        save_file(tensors, folder / f"{stem}.safetensors", metadata={"format": EMBEDDINGS_FORMAT})
        (folder / f"{stem}.json").write_text(json.dumps(captions, ensure_ascii=False))
        shards.append({"file": f"{stem}.safetensors", "captions": f"{stem}.json", "count": len(captions)})
        pending, pending_rows = [], 0

    for tensors, captions in embed_batches(encoder, dataset, batch_size):
        # Split batches so every shard but the last holds exactly shard_size rows.
        start = 0
        while start < len(captions):
            take = min(shard_size - pending_rows, len(captions) - start)
            pending.append(({k: v[start : start + take] for k, v in tensors.items()}, captions[start : start + take]))
            pending_rows += take
            start += take
            if pending_rows == shard_size:
                flush()
    flush()
    return {"count": sum(s["count"] for s in shards), "shards": shards}


def export_embeddings(graph: Graph, encoder: Encoder, splits: dict[str, Dataset], out: str | Path, shard_size: int = 4096, batch_size: int = 256) -> Path:
    """Write every split of `splits` and index.json into `out` (replacing it atomically)."""
    out = Path(out)
    with atomic_folder(out) as staging:
        spec = encoder.spec
        index = {
            "format": EMBEDDINGS_FORMAT,
            "encoder": graph.encoder.to_dict(),
            "data": graph.data.to_dict() if graph.data is not None else None,
            "embed_dim": spec.embed_dim,
            "context_length": spec.context_length,
            "text_width": spec.text_width,
            "dtype": "float16",
            "splits": {name: write_split(encoder, data, staging, name, shard_size, batch_size) for name, data in splits.items()},
        }
        (staging / INDEX_FILE).write_text(json.dumps(index, indent=1) + "\n")
    return out
