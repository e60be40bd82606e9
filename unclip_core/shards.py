"""Webdataset tar shards of image-caption pairs: the format, and writing a dataset into it.

One sample per item, its files sharing the key `<split>-<index:08d>`:
  <key>.png                   the image, 8-bit RGB PNG
  <key>.txt                   the caption, UTF-8
  <key>.image_embedding.npy   optional, (D,) float16, from the graph's encoder (normalized)
  <key>.text_embedding.npy    optional, (D,) float16
Shards are `<out>/<split>/shard-000000.tar`, ...; `<out>/<split>/shards.json` lists them with
their sample counts. A split folder is written beside its final place and renamed in.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch.utils.data import DataLoader, Dataset

from .atomic import atomic_folder

SHARD_FORMAT = "unclip.shards/1"
SHARD_PATTERN = "shard-%06d.tar"
SHARD_INDEX = "shards.json"
EMBEDDING_KEYS = ("image_embedding.npy", "text_embedding.npy")
# (images (B,3,S,S) in [-1,1], captions) -> (image embeddings (B,D), text embeddings (B,D))
EmbedBatch = Callable[[torch.Tensor, list[str]], tuple[torch.Tensor, torch.Tensor]]


def png_bytes(image: torch.Tensor) -> bytes:
    """(3, S, S) float in [-1, 1] -> PNG bytes (the same rounding as unclip_core.images.to_pil)."""
    pixels = ((image.detach().float().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels.permute(1, 2, 0).cpu().numpy()).save(buffer, format="PNG")
    return buffer.getvalue()


def npy_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()


def samples(dataset: Dataset, split: str, batch_size: int, embed: EmbedBatch | None = None) -> Iterator[dict[str, bytes | str]]:
    """Webdataset samples of every item of `dataset`, in order."""
    loader = DataLoader(dataset, batch_size=batch_size, shuffle=False)
    index = 0
    for batch in loader:
        captions = list(batch["caption"])
        embeddings = None
        if embed is not None:
            with torch.no_grad():
                image_z, text_z = embed(batch["image"], captions)
            embeddings = (image_z.float().cpu().numpy().astype(np.float16), text_z.float().cpu().numpy().astype(np.float16))
        for row, caption in enumerate(captions):
            sample: dict[str, bytes | str] = {
                "__key__": f"{split}-{index:08d}",
                "png": png_bytes(batch["image"][row]),
                "txt": caption.encode("utf-8"),
            }
            if embeddings is not None:
                sample[EMBEDDING_KEYS[0]] = npy_bytes(embeddings[0][row])
                sample[EMBEDDING_KEYS[1]] = npy_bytes(embeddings[1][row])
            yield sample
            index += 1


def write_shards(dataset: Dataset, folder: str | Path, split: str, shard_size: int = 10000, batch_size: int = 64, embed: EmbedBatch | None = None) -> Path:
    """Write `dataset` as tar shards into `folder` (replacing it); returns the folder."""
    import webdataset as wds

    folder = Path(folder)
    with atomic_folder(folder) as staging:
        counts: list[int] = []
        with wds.ShardWriter(str(staging / SHARD_PATTERN), maxcount=shard_size, verbose=0, encoder=False) as writer:
            for sample in samples(dataset, split, batch_size, embed):
                writer.write(sample)
                if writer.count == 1:
                    counts.append(0)
                counts[-1] += 1
        index = {
            "format": SHARD_FORMAT,
            "split": split,
            "count": sum(counts),
            "embeddings": embed is not None,
            "shards": [{"file": SHARD_PATTERN % i, "count": n} for i, n in enumerate(counts)],
        }
        (staging / SHARD_INDEX).write_text(json.dumps(index, indent=1) + "\n")
    return folder
