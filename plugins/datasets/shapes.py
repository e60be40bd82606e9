"""`type: shapes`: a synthetic set whose every caption attribute can be checked on the pixels."""

from __future__ import annotations

import random
from typing import ClassVar

from pydantic import Field
from torch.utils.data import Dataset

from unclip_core.interfaces import DataConfig, DataSource, Pair

from .image_files import uint8_to_tensor
from .shapes_attributes import Attributes, split_combinations
from .shapes_captions import PHRASINGS, caption
from .shapes_render import render

# Random offsets keep every shape well inside its grid cell (the oracle reads cells back).
POSITION_JITTER = 0.1  # cells
SIZE_JITTER = 0.08  # relative
_SPLIT_IDS = {"train": 1, "val": 2}


class ShapesConfig(DataConfig):
    train_size: int = Field(20000, ge=1, description="Training items; each is generated from its index.")
    val_size: int = Field(512, ge=1, description="Held-out items, all from held-out color+shape pairs.")
    phrasings: bool = Field(True, description="Vary caption phrasing per item; false uses one template.")


class ShapesDataset(Dataset):
    """Item i is rendered on the fly from (seed, split, i): no files, same item every time."""

    def __init__(self, split: str, length: int, image_size: int, seed: int, phrasings: bool) -> None:
        self.split = split
        self.combinations = split_combinations(split)
        self.length = length
        self.image_size = image_size
        self.seed = seed
        self.phrasings = phrasings

    def __len__(self) -> int:
        return self.length

    def describe(self, index: int) -> tuple[Attributes, tuple[float, float, float], int]:
        """Attributes, jitter (dx, dy, size scale - 1) and phrasing of item `index`."""
        if not 0 <= index < self.length:
            raise IndexError(f"index {index} out of range for {self.length} items")
        # An integer seed is reproducible across processes (unlike hash() of a tuple).
        rng = random.Random((self.seed * 7 + _SPLIT_IDS[self.split]) * 1_000_003 + index)
        attributes = self.combinations[rng.randrange(len(self.combinations))]
        jitter = (
            rng.uniform(-POSITION_JITTER, POSITION_JITTER),
            rng.uniform(-POSITION_JITTER, POSITION_JITTER),
            rng.uniform(-SIZE_JITTER, SIZE_JITTER),
        )
        phrasing = rng.randrange(len(PHRASINGS)) if self.phrasings else 0
        return attributes, jitter, phrasing

    def __getitem__(self, index: int) -> Pair:
        attributes, jitter, phrasing = self.describe(index)
        image = uint8_to_tensor(render(attributes, self.image_size, jitter))
        return {"image": image, "caption": caption(attributes, phrasing)}


class ShapesSource(DataSource):
    """Synthetic colored shapes on a 3x3 grid, with held-out color+shape pairs and a pixel oracle."""

    name: ClassVar[str] = "shapes"
    Config: ClassVar[type[ShapesConfig]] = ShapesConfig
    fits_in_memory: ClassVar[bool] = True

    def __init__(self, config: ShapesConfig) -> None:
        super().__init__(config)
        self.config: ShapesConfig = config

    def train_set(self) -> ShapesDataset:
        c = self.config
        return ShapesDataset("train", c.train_size, c.image_size, c.seed, c.phrasings)

    def val_set(self) -> ShapesDataset:
        c = self.config
        return ShapesDataset("val", c.val_size, c.image_size, c.seed, c.phrasings)
