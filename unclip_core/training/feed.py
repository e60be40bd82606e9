"""Feeding a stage from a split held on the training device: a batch is an index, not a copy.

A DataLoader spends per-sample Python, worker processes and one host->device copy on every
step; for a split that fits in memory none of that is needed. The split is moved once, and
each batch is drawn by a seeded generator on the device and gathered there.

Batch g is positions [g*B, (g+1)*B) of an endless stream made of seeded permutations of the
split laid end to end. Every N consecutive draws of the stream therefore hold every item exactly
once, every batch is full (no dropped remainder, one shape for compiled steps), and batch g is a
function of (seed, g) alone, so a resumed run draws the batches it would have drawn.

A source that weights its items (`DataSource.train_weights`) is drawn with replacement instead:
batch g is B draws from the weights' cumulative distribution by a generator seeded from
(seed, g), still a function of (seed, g) alone and still without a host sync.
"""

from __future__ import annotations

from collections.abc import Iterator

import torch
from torch import Tensor

from .columns import Columns


class IndexStream:
    """Batches of item indices over `count` items, on `device`, from `seed`."""

    def __init__(
        self, count: int, batch_size: int, seed: int, device: torch.device | str = "cpu", weights: Tensor | None = None,
    ) -> None:
        if count < 1:
            raise ValueError("the training split is empty")
        self.count = count
        self.batch_size = batch_size
        self.seed = seed
        self.device = torch.device(device)
        self._cached: dict[int, Tensor] = {}
        self._cumulative = None if weights is None else cumulative_distribution(weights, count).to(self.device)

    def permutation(self, number: int) -> Tensor:
        """The `number`-th permutation of the stream (the two most recent are kept)."""
        if number not in self._cached:
            self._cached = {k: v for k, v in self._cached.items() if k == number - 1}
            self._cached[number] = torch.randperm(self.count, generator=self._generator(number), device=self.device)
        return self._cached[number]

    def _generator(self, number: int) -> torch.Generator:
        """The generator of permutation `number` (or, weighted, of batch `number`): fixed by (seed, number)."""
        return torch.Generator(self.device).manual_seed(self.seed * 1_000_003 + number)

    def batch(self, number: int) -> Tensor:
        """Indices of batch `number`: slices of one or more permutations (or weighted draws), never a host sync."""
        if self._cumulative is not None:
            uniform = torch.rand(self.batch_size, generator=self._generator(number), device=self.device, dtype=torch.float64)
            # The first item whose cumulative share exceeds the draw; clamped against rounding at 1.
            return torch.searchsorted(self._cumulative, uniform, right=True).clamp_max_(self.count - 1)
        start, end = number * self.batch_size, (number + 1) * self.batch_size
        pieces = []
        while start < end:
            which, offset = divmod(start, self.count)
            take = min(end - start, self.count - offset)
            pieces.append(self.permutation(which)[offset : offset + take])
            start += take
        return pieces[0] if len(pieces) == 1 else torch.cat(pieces)


def cumulative_distribution(weights: Tensor, count: int) -> Tensor:
    """`weights` (one per item) as a float64 cumulative distribution ending at 1; checked once,
    on the host, before training."""
    weights = torch.as_tensor(weights, dtype=torch.float64).cpu()
    if weights.shape != (count,):
        raise ValueError(f"the data source gives {tuple(weights.shape)} item weights for {count} training items; give one per item")
    if not bool(torch.isfinite(weights).all()) or bool((weights < 0).any()) or float(weights.sum()) <= 0:
        raise ValueError("the data source's item weights must be finite, non-negative and not all zero")
    cumulative = weights.cumsum(0)
    return cumulative / cumulative[-1]


class DeviceBatches:
    """One epoch of gathered batches, as Lightning iterates a train dataloader.

    An epoch is N // (B * ranks) batches per rank; rank r takes every ranks-th batch of the
    stream, so ranks never draw the same batch. Lightning asks for the dataloader once per fit
    and iterates it once per epoch, so each iteration moves on to the next epoch, starting from
    `epoch` (the trainer's, when resuming).
    """

    def __init__(self, columns: Columns, stream: IndexStream, epoch: int = 0, rank: int = 0, ranks: int = 1) -> None:
        self.columns = columns
        self.stream = stream
        self.epoch = epoch
        self.rank = rank
        self.ranks = ranks

    def __len__(self) -> int:
        return max(1, self.stream.count // (self.stream.batch_size * self.ranks))

    def __iter__(self) -> Iterator[dict[str, Tensor]]:
        first = self.epoch * len(self)
        self.epoch += 1
        for step in range(first, first + len(self)):
            yield self.columns.gather(self.stream.batch(step * self.ranks + self.rank))
