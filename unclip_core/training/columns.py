"""A whole data split as a few tensors ("columns"), so it can live on the training device.

Images are kept as uint8 (what emoji and shapes are made of: a quarter of float32's memory and
exactly the same pixels) or, when they do not come from 8-bit pixels, as float16. Captions are
replaced by an index into the split's distinct captions, tokenized once, so a batch's tokens
are a gather like its images.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from torch import Tensor
from torch.utils.data import DataLoader, Dataset

Tokenizer = Callable[[Sequence[str]], Tensor]

# Items read per DataLoader batch while building the columns (once, before training).
BUILD_BATCH = 256


@dataclass
class Columns:
    """Per-item tensors (first dim = items) plus the distinct captions they index."""

    items: dict[str, Tensor]
    captions: list[str]
    tokens: Tensor | None = None  # (distinct captions, context length), when a tokenizer was given

    def __len__(self) -> int:
        return len(self.items["caption_id"])

    def to(self, device: torch.device | str) -> Columns:
        items = {key: column.to(device) for key, column in self.items.items()}
        return Columns(items, self.captions, None if self.tokens is None else self.tokens.to(device))

    def nbytes(self) -> int:
        tensors = [*self.items.values(), *([self.tokens] if self.tokens is not None else [])]
        return sum(t.numel() * t.element_size() for t in tensors)

    def gather(self, index: Tensor) -> dict[str, Tensor]:
        """The batch at `index` (a device tensor): every column indexed, captions as tokens."""
        batch = {key: column[index] for key, column in self.items.items()}
        if self.tokens is not None:
            batch["tokens"] = self.tokens[batch["caption_id"]]
        return batch


def image_column(images: Tensor) -> Tensor:
    """uint8 when every pixel is an exact 8-bit level of [-1, 1], else float16."""
    if images.dtype == torch.uint8:
        return images
    levels = ((images.float() + 1) * 127.5).round().clamp(0, 255)
    if torch.allclose(levels / 127.5 - 1, images.float(), atol=1e-5, rtol=0):
        return levels.to(torch.uint8)
    return images.to(torch.float16)


def to_float_images(images: Tensor) -> Tensor:
    """A batch of stored images (uint8 levels or float) -> float32 in [-1, 1]."""
    if images.dtype == torch.uint8:
        return images.float() / 127.5 - 1
    return images.float()


def build_columns(dataset: Dataset, tokenizer: Tokenizer | None = None, workers: int = 0) -> Columns:
    """Read `dataset` once (through its own `columns()` when it has one) into Columns."""
    if hasattr(dataset, "columns"):
        raw: dict[str, Tensor | list[str]] = dataset.columns()
    else:
        raw = _read_all(dataset, workers)
    captions = list(raw.pop("caption"))
    distinct: dict[str, int] = {}
    ids = torch.tensor([distinct.setdefault(c, len(distinct)) for c in captions], dtype=torch.long)
    items: dict[str, Tensor] = {"caption_id": ids}
    for key, value in raw.items():
        if key == "image":
            items[key] = image_column(value)
        elif value.is_floating_point():
            items[key] = value.to(torch.float16)  # embeddings: half the memory, far below their noise
        else:
            items[key] = value
    names = list(distinct)
    tokens = tokenizer(names) if tokenizer is not None and names else None
    return Columns(items, names, tokens)


def _read_all(dataset: Dataset, workers: int) -> dict[str, Tensor | list[str]]:
    """Every item of a map-style dataset, collated column by column."""
    chunks: dict[str, list] = {}
    for batch in DataLoader(dataset, batch_size=BUILD_BATCH, shuffle=False, num_workers=workers):
        for key, value in batch.items():
            if isinstance(value, Tensor) or key == "caption":
                chunks.setdefault(key, []).append(value)
    if "caption" not in chunks:
        raise ValueError("a split held on the device needs a `caption` for every item")
    return {key: (sum(map(list, parts), []) if key == "caption" else torch.cat(parts)) for key, parts in chunks.items()}
