"""Lightning data modules over any DataSource plugin: a DataLoader path, and a split held on the
training device (feed.py) for sources that fit in memory."""

from __future__ import annotations

from collections.abc import Callable

import lightning as L
import torch
from torch import Tensor
from torch.utils.data import DataLoader, IterableDataset, WeightedRandomSampler

from ..errors import ConfigError
from ..interfaces import DataSource
from .columns import Columns, Tokenizer, build_columns
from .feed import DeviceBatches, IndexStream, cumulative_distribution

# Items per forward pass when computing per-item features once, before training.
FEATURE_CHUNK = 256


class PairDataModule(L.LightningDataModule):
    """Batches through a DataLoader: workers, per-sample reads, a host->device copy each step."""

    def __init__(self, source: DataSource, batch_size: int | None = None) -> None:
        super().__init__()
        self.source = source
        self.batch_size = batch_size or source.config.batch_size

    def train_dataloader(self) -> DataLoader:
        generator = torch.Generator().manual_seed(self.source.config.seed)
        dataset = self.source.train_set()
        weights = self.source.train_weights()
        if weights is not None and not isinstance(dataset, IterableDataset):
            # The device feed's distribution: draws with replacement, in proportion to the weights.
            cumulative_distribution(weights, len(dataset))  # the same checks, the same message
            sampler = WeightedRandomSampler(torch.as_tensor(weights, dtype=torch.float64), len(dataset), generator=generator)
            return self._loader(dataset, shuffle=True, sampler=sampler)
        return self._loader(dataset, shuffle=True, generator=generator)

    def val_dataloader(self) -> DataLoader:
        return self._loader(self.source.val_set(), shuffle=False)

    def statistics_batches(self):
        """Training batches for fitting statistics before training (the prior's), on the host."""
        return self.train_dataloader()

    def first_batch(self) -> dict:
        """The first training batch, as a step receives it (for measuring a step)."""
        return next(iter(self.train_dataloader()))

    def _loader(self, dataset, shuffle: bool, generator: torch.Generator | None = None, sampler=None) -> DataLoader:
        workers = self.source.config.num_workers
        if isinstance(dataset, IterableDataset):
            # A stream has no length and orders itself (seeded shard order and shuffle buffer).
            shuffle, generator = False, None
        return DataLoader(
            dataset,
            batch_size=self.batch_size,
            shuffle=shuffle and sampler is None,
            sampler=sampler,
            drop_last=shuffle and len(dataset) >= self.batch_size,
            num_workers=workers,
            persistent_workers=workers > 0,
            generator=generator,
        )


class DeviceDataModule(PairDataModule):
    """The training split held on the training device; batches are seeded indices into it.

    Batches carry `image` (uint8 or float16), `caption_id`, `tokens` (when a tokenizer is given)
    and any other tensor the source's items have (e.g. precomputed embeddings). Validation,
    which runs rarely, keeps the DataLoader path.
    """

    def __init__(
        self, source: DataSource, batch_size: int | None = None, tokenizer: Tokenizer | None = None,
        device: torch.device | str | None = None,
    ) -> None:
        super().__init__(source, batch_size)
        self.tokenizer = tokenizer
        self.target_device = torch.device(device) if device is not None else None
        self._host: Columns | None = None
        self._placed: Columns | None = None
        self._stream: IndexStream | None = None
        self.features: Callable[[dict[str, Tensor]], dict[str, Tensor] | None] | None = None

    def host_columns(self) -> Columns:
        """The training split read once into host memory (the source's items, read in order)."""
        if self._host is None:
            dataset = self.source.train_set()
            if isinstance(dataset, IterableDataset):
                raise ConfigError(
                    f"data source '{self.source.name}' streams its items and cannot be held on the device; "
                    "set train.<stage>.feed: loader (or auto)"
                )
            self._host = build_columns(dataset, self.tokenizer, self.source.config.num_workers)
        return self._host

    def _target_device(self) -> torch.device:
        if self.target_device is not None:
            return self.target_device
        trainer = getattr(self, "trainer", None)
        return trainer.strategy.root_device if trainer is not None else torch.device("cpu")

    def setup(self, stage: str) -> None:
        if stage == "fit" and self._placed is None:
            device = self._target_device()
            self._placed = self.host_columns().to(device)
            if self.features is not None:
                self._placed = with_features(self._placed, self.features)
            weights = self.source.train_weights()
            self._stream = IndexStream(len(self._placed), self.batch_size, self.source.config.seed, device, weights)

    def train_dataloader(self) -> DeviceBatches:
        self.setup("fit")
        trainer = getattr(self, "trainer", None)
        epoch, rank, ranks = (trainer.current_epoch, trainer.global_rank, trainer.world_size) if trainer else (0, 0, 1)
        return DeviceBatches(self._placed, self._stream, epoch=epoch, rank=rank, ranks=ranks)

    def first_batch(self) -> dict[str, Tensor]:
        self.setup("fit")
        return next(iter(DeviceBatches(self._placed, self._stream)))

    def statistics_batches(self) -> DeviceBatches:
        host = self.host_columns()
        return DeviceBatches(host, IndexStream(len(host), self.batch_size, self.source.config.seed))


def with_features(columns: Columns, features: Callable[[dict[str, Tensor]], dict[str, Tensor] | None]) -> Columns:
    """`columns` plus per-item `features` (e.g. a frozen encoder's outputs), computed in chunks
    on the columns' device, once: a step then gathers them instead of recomputing them."""
    parts: dict[str, list[Tensor]] = {}
    device = columns.items["caption_id"].device
    for start in range(0, len(columns), FEATURE_CHUNK):
        computed = features(columns.gather(torch.arange(start, min(start + FEATURE_CHUNK, len(columns)), device=device)))
        if computed is None:
            return columns
        for key, value in computed.items():
            parts.setdefault(key, []).append(value)
    items = {**columns.items, **{key: torch.cat(chunks) for key, chunks in parts.items()}}
    return Columns(items, columns.captions, columns.tokens)


def fits_on_device(source: DataSource, device: torch.device) -> bool:
    """Whether `auto` holds the source's split on `device`: the source must declare that it fits,
    and on a GPU its images (as uint8) must take under half the free memory."""
    if not getattr(source, "fits_in_memory", False):
        return False
    if device.type != "cuda":
        return True
    dataset = source.train_set()
    size = source.config.image_size
    free, _ = torch.cuda.mem_get_info(device)
    return len(dataset) * 3 * size * size < free // 2
