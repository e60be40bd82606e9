"""A synthetic image-caption set for decoder and upsampler tests: one colored disk on a plain
background per image, with position, size and both colors drawn at random."""

from __future__ import annotations

import torch
from torch import Tensor

from unclip_core.interfaces import DataConfig, DataSource, Pair

COLORS = {"red": (1, -1, -1), "green": (-1, 1, -1), "blue": (-1, -1, 1), "yellow": (1, 1, -1), "white": (1, 1, 1)}


def blob_images(count: int, size: int, seed: int) -> tuple[Tensor, list[str]]:
    """(count, 3, size, size) images in [-1, 1] and captions naming the disk's color."""
    g = torch.Generator().manual_seed(seed)
    names = list(COLORS)
    which = torch.randint(len(names), (count,), generator=g)
    palette = torch.tensor(list(COLORS.values()), dtype=torch.float32)
    fg = (0.8 * palette[which] + 0.2 * (torch.rand(count, 3, generator=g) * 2 - 1))[:, :, None, None]
    bg = (torch.rand(count, 3, 1, 1, generator=g) * 1.6 - 0.8) * 0.6
    coords = torch.arange(size, dtype=torch.float32) + 0.5
    cy, cx = (torch.rand(2, count, 1, 1, generator=g) * 0.5 + 0.25) * size
    radius = (torch.rand(count, 1, 1, generator=g) * 0.15 + 0.15) * size
    inside = ((coords[None, :, None] - cy) ** 2 + (coords[None, None, :] - cx) ** 2 <= radius**2).float()[:, None]
    images = (bg * (1 - inside) + fg * inside).clamp(-1, 1)
    return images, [f"a {names[i]} disk" for i in which.tolist()]


class BlobSource(DataSource):
    """The blob set as a DataSource, so training runs through the real data module."""

    name = "test_blobs"

    def __init__(self, count: int, size: int, batch_size: int, seed: int = 0) -> None:
        super().__init__(DataConfig(image_size=size, batch_size=batch_size, seed=seed))
        self.count = count

    def _pairs(self, seed: int) -> list[Pair]:
        images, captions = blob_images(self.count, self.config.image_size, seed)
        return [{"image": image, "caption": caption} for image, caption in zip(images, captions)]

    def train_set(self) -> list[Pair]:
        return self._pairs(self.config.seed)

    def val_set(self) -> list[Pair]:
        return self._pairs(self.config.seed + 1)
