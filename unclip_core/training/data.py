"""The Lightning data module over any DataSource plugin: seeded, batched, with workers."""

from __future__ import annotations

import lightning as L
import torch
from torch.utils.data import DataLoader, IterableDataset

from ..interfaces import DataSource


class PairDataModule(L.LightningDataModule):
    def __init__(self, source: DataSource, batch_size: int | None = None) -> None:
        super().__init__()
        self.source = source
        self.batch_size = batch_size or source.config.batch_size

    def train_dataloader(self) -> DataLoader:
        generator = torch.Generator().manual_seed(self.source.config.seed)
        return self._loader(self.source.train_set(), shuffle=True, generator=generator)

    def val_dataloader(self) -> DataLoader:
        return self._loader(self.source.val_set(), shuffle=False)

    def _loader(self, dataset, shuffle: bool, generator: torch.Generator | None = None) -> DataLoader:
        workers = self.source.config.num_workers
        if isinstance(dataset, IterableDataset):
            # A stream has no length and orders itself (seeded shard order and shuffle buffer).
            shuffle, generator = False, None
        return DataLoader(
            dataset,
            batch_size=self.batch_size,
            shuffle=shuffle,
            drop_last=shuffle and len(dataset) >= self.batch_size,
            num_workers=workers,
            persistent_workers=workers > 0,
            generator=generator,
        )
