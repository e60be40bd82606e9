"""`type: webdataset`: stream image-caption tar shards (as `unclip data export` writes them).

Shards are read in a seeded order that changes every epoch, split across processes and DataLoader
workers, and samples pass through a seeded shuffle buffer. Every image is validated: a sample
that does not decode (or a shard that breaks off) is logged and skipped, never a crash.

On several processes (DDP), every process must take the same number of steps, or the ones with
more wait for the others forever. So there the epoch is planned by sample, not by shard: the
epoch's shards, in their seeded order, form one sequence of samples, cut into one equal
range per process and worker (each sample once; when the count does not divide, a few samples
of the epoch's start are read twice). Shard sizes come from the `shards.json` that `unclip data
export` writes, or from reading the local tar files. With `resampled: true` each reader instead
draws shards at random, with replacement, for a fixed number of samples per epoch.
"""

from __future__ import annotations

import io
import itertools
import json
import logging
import random
import tarfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
from pydantic import Field
from torch.utils.data import IterableDataset, get_worker_info

from unclip_core.errors import ConfigError
from unclip_core.interfaces import DataConfig, DataSource
from unclip_core.shards import SHARD_INDEX

from .image_files import decode_image, to_tensor

log = logging.getLogger("unclip.data")
IMAGE_EXTENSIONS = ("png", "jpg", "jpeg", "webp")
EMBEDDING_EXTENSIONS = {"image_embedding.npy": "image_embedding", "text_embedding.npy": "text_embedding"}


class WebDatasetConfig(DataConfig):
    urls: str | list[str] = Field(description="Training shards: a brace pattern ('shards/train/shard-{000000..000009}.tar') or a list.")
    val_urls: str | list[str] | None = Field(None, description="Held-out shards; null gives an empty validation set.")
    shuffle_buffer: int = Field(1000, ge=0, description="Samples held for shuffling training data; 0 keeps shard order.")
    resampled: bool = Field(False, description="Training shards drawn at random with replacement (for shards whose sizes are unknown).")
    epoch_samples: int | None = Field(
        None, ge=1, description="Training samples per epoch over all processes when resampled (default: the shards' total, when known)."
    )


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


def _processes() -> tuple[int, int]:
    """(this process's rank, number of processes), read where the stream is made: DataLoader
    workers do not see the process group."""
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        return torch.distributed.get_rank(), torch.distributed.get_world_size()
    return 0, 1


def shard_sizes(urls: list[str]) -> list[int] | None:
    """Samples per shard: from the `shards.json` beside them, else counted in local tar files;
    None when a shard is remote and unindexed."""
    sizes = []
    indexes: dict[Path, dict[str, int]] = {}
    for url in urls:
        path = Path(url)
        if "://" in url or url.startswith("pipe:"):
            return None
        if path.parent not in indexes:
            indexes[path.parent] = _read_index(path.parent / SHARD_INDEX)
        size = indexes[path.parent].get(path.name)
        sizes.append(size if size is not None else _count_samples(path))
    return sizes


def _read_index(path: Path) -> dict[str, int]:
    try:
        return {entry["file"]: int(entry["count"]) for entry in json.loads(path.read_text())["shards"]}
    except (OSError, ValueError, KeyError, TypeError):  # absent or foreign: count the tars instead
        return {}


def _count_samples(path: Path) -> int:
    """Distinct sample keys in a tar (its member headers only); a broken tail counts what came before."""
    keys = set()
    try:
        with tarfile.open(path) as tar:
            for member in tar:
                if member.isfile():
                    keys.add(member.name.split("/")[-1].split(".", 1)[0])
    except (tarfile.TarError, OSError, EOFError):
        pass
    return len(keys)


def planned_range(sizes: list[int], reader: int, readers: int) -> list[tuple[int, int, int]]:
    """This reader's share of the epoch's samples, as (shard index, first, end) per shard it
    touches: every reader gets ceil(total / readers), the last ones wrapping to the start."""
    total = sum(sizes)
    if total == 0:
        return []
    share = -(-total // readers)
    begin, stop = reader * share, (reader + 1) * share
    starts = list(itertools.accumulate([0, *sizes[:-1]]))
    pieces = []
    for lap in range(begin // total, (stop - 1) // total + 1):
        lo, hi = max(begin - lap * total, 0), min(stop - lap * total, total)
        for index, (start, size) in enumerate(zip(starts, sizes)):
            first, end = max(lo, start) - start, min(hi, start + size) - start
            if first < end:
                pieces.append((index, first, end))
    return pieces


def tar_samples(urls: Iterable[str]) -> Iterator[dict[str, Any]]:
    """The raw samples of these shards in order; a shard that breaks off is logged and left."""
    from webdataset.tariterators import tarfile_samples

    return tarfile_samples(({"url": url} for url in urls), handler=_skip_broken_shard)


class ShardStream(IterableDataset):
    def __init__(
        self, urls: list[str], image_size: int, seed: int, shuffle_buffer: int, shuffle: bool,
        resampled: bool = False, epoch_samples: int | None = None,
    ) -> None:
        self.urls = urls
        self.image_size = image_size
        self.seed = seed
        self.shuffle_buffer = shuffle_buffer
        self.shuffle = shuffle
        self.resampled = resampled
        self.epoch_samples = epoch_samples
        self.epoch = 0
        self.rank, self.ranks = _processes()  # made by train_dataloader(), once the processes have met
        self._sizes: list[int] | None = None
        if (self.ranks > 1 and not resampled) or (resampled and epoch_samples is None):
            self.sizes()  # here, once: DataLoader workers get them with their copy, and a missing count fails now

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def sizes(self) -> list[int]:
        if self._sizes is None:
            sizes = shard_sizes(self.urls)
            if sizes is None:
                raise ConfigError(
                    "data.urls: streaming on several processes needs each shard's sample count, and a shard is remote "
                    "without a shards.json beside it; keep the shards.json `unclip data export` writes, or set data.resampled: true"
                )
            self._sizes = sizes
        return self._sizes

    def _partition(self) -> tuple[int, int]:
        """(this reader's index, number of readers) over processes and DataLoader workers."""
        info = get_worker_info()
        worker, workers = (info.id, info.num_workers) if info is not None else (0, 1)
        return self.rank * workers + worker, self.ranks * workers

    def __iter__(self) -> Iterator[dict[str, Any]]:
        epoch, self.epoch = self.epoch, self.epoch + 1
        shards = list(self.urls)
        if self.shuffle:
            random.Random(f"{self.seed}:{epoch}").shuffle(shards)
        reader, readers = self._partition()
        if self.resampled:
            items = self._resampled(epoch, reader, readers)
        elif self.ranks > 1:
            sizes = dict(zip(self.urls, self.sizes()))
            items = self._planned(shards, [sizes[url] for url in shards], reader, readers)
        else:  # one process: whole shards per worker, each read once; workers may differ in count
            items = self._decoded(tar_samples(shards[reader::readers]))
        if self.shuffle and self.shuffle_buffer > 1:
            items = buffered_shuffle(items, self.shuffle_buffer, random.Random(f"{self.seed}:{epoch}:{reader}"))
        yield from items

    def _decoded(self, samples: Iterable[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        return (item for item in (decode_sample(s, self.image_size) for s in samples) if item is not None)

    def _planned(self, shards: list[str], sizes: list[int], reader: int, readers: int) -> Iterator[dict[str, Any]]:
        """Exactly this reader's planned samples. One that does not decode is replaced by the
        reader's previous good one, so every process still takes the same number of steps."""
        last, owed = None, 0
        for index, first, end in planned_range(sizes, reader, readers):
            samples = tar_samples([shards[index]])
            wanted = end - first
            for position, sample in enumerate(samples):
                if position < first:
                    continue
                if position >= end:
                    break
                wanted -= 1
                item = decode_sample(sample, self.image_size)
                if item is None:
                    owed += 1
                    continue
                last = item
                yield item
                for _ in range(owed):
                    yield last
                owed = 0
            owed += wanted  # a shard that broke off early
        if owed and last is not None:
            log.warning("%d planned samples could not be read; repeating this reader's last good one in their place", owed)
            for _ in range(owed):
                yield last

    def _resampled(self, epoch: int, reader: int, readers: int) -> Iterator[dict[str, Any]]:
        """`epoch_samples // readers` samples from shards drawn at random, with replacement."""
        total = self.epoch_samples if self.epoch_samples is not None else sum(self.sizes())
        count = total // readers
        rng = random.Random(f"{self.seed}:{epoch}:{reader}:resampled")
        yielded, failures = 0, 0
        while yielded < count:
            before = yielded
            for item in self._decoded(tar_samples([rng.choice(self.urls)])):
                yield item
                yielded += 1
                if yielded == count:
                    return
            failures = failures + 1 if yielded == before else 0
            if failures >= 100:
                raise RuntimeError(f"100 shards in a row gave no readable sample; check data.urls ({self.urls[0]}, ...)")


class WebDatasetSource(DataSource):
    """Image-caption webdataset tar shards, streamed with a seeded shuffle; broken samples are skipped."""

    name: ClassVar[str] = "webdataset"
    Config: ClassVar[type[WebDatasetConfig]] = WebDatasetConfig

    def __init__(self, config: WebDatasetConfig) -> None:
        super().__init__(config)
        self.config: WebDatasetConfig = config

    def train_set(self) -> ShardStream:
        c = self.config
        return ShardStream(expand_urls(c.urls, "urls"), c.image_size, c.seed, c.shuffle_buffer, shuffle=True,
                           resampled=c.resampled, epoch_samples=c.epoch_samples)

    def val_set(self) -> ShardStream:
        c = self.config
        return ShardStream(expand_urls(c.val_urls, "val_urls"), c.image_size, c.seed, 0, shuffle=False)
