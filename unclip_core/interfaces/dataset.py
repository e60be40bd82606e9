"""A data source: image-caption pairs for training and evaluation."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import ClassVar, TypedDict

from pydantic import Field
from torch import Tensor
from torch.utils.data import Dataset

from .component import Component, ComponentConfig


class Pair(TypedDict):
    """One item: `image` (3, S, S) float in [-1, 1], `caption` a string."""

    image: Tensor
    caption: str


class DataConfig(ComponentConfig):
    """Settings every data source shares; a plugin's Config subclasses it."""

    image_size: int = Field(64, ge=8)
    batch_size: int = Field(64, ge=1)
    num_workers: int = Field(0, ge=0)
    seed: int = 0


class DataSource(Component, ABC):
    """Provides a training split and a held-out split of image-caption pairs."""

    kind: ClassVar[str] = "dataset"
    Config: ClassVar[type[DataConfig]] = DataConfig
    # True when the whole training split fits in the training device's memory: training then holds
    # it there and draws batches as indices (`train.<stage>.feed: auto`). A streaming source says False.
    fits_in_memory: ClassVar[bool] = False

    def __init__(self, config: DataConfig) -> None:
        self.config = config

    @abstractmethod
    def train_set(self) -> Dataset[Pair]: ...

    @abstractmethod
    def val_set(self) -> Dataset[Pair]: ...

    def train_weights(self) -> Tensor | None:
        """The relative chance of drawing each item of `train_set()` (same order, non-negative),
        or None to draw every item equally often: once per epoch. Both training feeds honour
        it; a weighted feed draws with replacement, so an epoch is a count of batches."""
        return None
