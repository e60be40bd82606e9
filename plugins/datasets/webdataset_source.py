"""`type: webdataset`: stream image-caption tar shards (as `unclip data export` writes them).

Shards are read in a seeded order that changes every epoch, split across nodes and DataLoader
workers, and samples pass through a seeded shuffle buffer. Every image is validated: a sample
that does not decode (or a shard that breaks off) is logged and skipped, never a crash.
"""

from __future__ import annotations

import io
import logging
import random
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
from pydantic import Field
from torch.utils.data import IterableDataset, get_worker_info

from unclip_core.errors import ConfigError
from unclip_core.interfaces import DataConfig, DataSource

from .image_files import decode_image, to_tensor

log = logging.getLogger("unclip.data")
IMAGE_EXTENSIONS = ("png", "jpg", "jpeg", "webp")
EMBEDDING_EXTENSIONS = {"image_embedding.npy": "image_embedding", "text_embedding.npy": "text_embedding"}


class WebDatasetConfig(DataConfig):
    urls: str | list[str] = Field(description="Training shards: a brace pattern ('shards/train/shard-{000000..000009}.tar') or a list.")
    val_urls: str | list[str] | None = Field(None, description="Held-out shards; null gives an empty validation set.")
    shuffle_buffer: int = Field(1000, ge=0, description="Samples held for shuffling training data; 0 keeps shard order.")


def expand_urls(urls: str | list[str] | None, key: str) -> list[str]:
    """Brace-expanded shard list; local paths must exist (named in the error when they do not)."""
    from braceexpand import braceexpand

    given = [urls] if isinstance(urls, str) else list(urls or [])
    expanded = [str(Path(u).expanduser()) if "://" not in u and not u.startswith("pipe:") else u for pattern in given for u in braceexpand(pattern)]
    missing = [u for u in expanded if "://" not in u and not u.startswith("pipe:") and not Path(u).is_file()]
    if missing:
        raise ConfigError(f"data.{key}: shard file {missing[0]} not found ({len(missing)} of {len(expanded)} missing); run `unclip data export` or fix the path")
    return expanded


def decode_sample(sample: dict[str, Any], image_size: int) -> dict[str, Any] | None:
    """A webdataset sample -> {"image", "caption", "key", embeddings...}, or None (logged) when broken."""
    where = f"{sample.get('__url__', '?')}:{sample.get('__key__', '?')}"
    data = next((sample[ext] for ext in IMAGE_EXTENSIONS if ext in sample), None)
    if data is None or "txt" not in sample:
        log.warning("skipping %s: needs an image (%s) and a txt caption, has %s", where, "/".join(IMAGE_EXTENSIONS), sorted(k for k in sample if not k.startswith("__")))
        return None
    image = decode_image(data, where)
    if image is None:
        return None
    try:
        item: dict[str, Any] = {"image": to_tensor(image, image_size), "caption": sample["txt"].decode("utf-8"), "key": sample["__key__"]}
        for ext, name in EMBEDDING_EXTENSIONS.items():
            if ext in sample:
                item[name] = torch.from_numpy(np.load(io.BytesIO(sample[ext]), allow_pickle=False).astype(np.float32))
    except (UnicodeDecodeError, ValueError, OSError) as exc:
        log.warning("skipping %s: unreadable caption or embedding (%s)", where, exc)
        return None
    return item


def buffered_shuffle(items: Iterable[Any], size: int, rng: random.Random) -> Iterator[Any]:
    """Approximate shuffle of a stream holding at most `size` items."""
    buffer: list[Any] = []
    for item in items:
        if len(buffer) < size:
            buffer.append(item)
            continue
        slot = rng.randrange(size)
        yield buffer[slot]
        buffer[slot] = item
    rng.shuffle(buffer)
    yield from buffer


def _skip_broken_shard(exc: Exception) -> bool:
    log.warning("skipping the rest of an unreadable shard (%s: %s)", type(exc).__name__, exc)
    return True


def _partition() -> tuple[int, int]:
    """(this reader's index, number of readers) over distributed ranks and DataLoader workers."""
    rank, world = 0, 1
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        rank, world = torch.distributed.get_rank(), torch.distributed.get_world_size()
    info = get_worker_info()
    worker, workers = (info.id, info.num_workers) if info is not None else (0, 1)
    return rank * workers + worker, world * workers


class ShardStream(IterableDataset):
    def __init__(self, urls: list[str], image_size: int, seed: int, shuffle_buffer: int, shuffle: bool) -> None:
        self.urls = urls
        self.image_size = image_size
        self.seed = seed
        self.shuffle_buffer = shuffle_buffer
        self.shuffle = shuffle
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __iter__(self) -> Iterator[dict[str, Any]]:
        from webdataset.tariterators import tarfile_samples

        epoch, self.epoch = self.epoch, self.epoch + 1
        shards = list(self.urls)
        if self.shuffle:
            random.Random(f"{self.seed}:{epoch}").shuffle(shards)
        reader, readers = _partition()
        samples = tarfile_samples(({"url": url} for url in shards[reader::readers]), handler=_skip_broken_shard)
        items = (item for item in (decode_sample(s, self.image_size) for s in samples) if item is not None)
        if self.shuffle and self.shuffle_buffer > 1:
            items = buffered_shuffle(items, self.shuffle_buffer, random.Random(f"{self.seed}:{epoch}:{reader}"))
        yield from items


class WebDatasetSource(DataSource):
    """Image-caption webdataset tar shards, streamed with a seeded shuffle; broken samples are skipped."""

    name: ClassVar[str] = "webdataset"
    Config: ClassVar[type[WebDatasetConfig]] = WebDatasetConfig

    def __init__(self, config: WebDatasetConfig) -> None:
        super().__init__(config)
        self.config: WebDatasetConfig = config

    def train_set(self) -> ShardStream:
        c = self.config
        return ShardStream(expand_urls(c.urls, "urls"), c.image_size, c.seed, c.shuffle_buffer, shuffle=True)

    def val_set(self) -> ShardStream:
        c = self.config
        return ShardStream(expand_urls(c.val_urls, "val_urls"), c.image_size, c.seed, 0, shuffle=False)
