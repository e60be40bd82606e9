"""The contract every data source passes."""

from __future__ import annotations

from itertools import islice
from typing import Any, ClassVar

import pytest
import torch
from torch.utils.data import IterableDataset

from ..interfaces import DataSource
from ..training.columns import to_float_images
from ..training.data import DeviceDataModule, PairDataModule
from ..training.feed import IndexStream
from .helpers import build_component


class DataSourceContract:
    """Every data source gives a training and a held-out split of items a training feed can
    read: a caption and either an image in [-1, 1] at the configured size or other tensors
    (e.g. precomputed embeddings); the same settings give the same items; item weights, where
    the source gives them, fit its training split; and a source that says its split fits in
    memory gives one the device feed holds item for item.

    Subclasses set `dataset_type` and `dataset_options` (small settings: these checks read the
    first `checked_items` of each split). Options that name files a fixture makes (shards, an
    embeddings folder) are filled in by overriding `options()`.
    """

    dataset_type: ClassVar[str]
    dataset_options: ClassVar[dict[str, Any]] = {}
    checked_items: ClassVar[int] = 6

    def options(self) -> dict[str, Any]:
        return dict(self.dataset_options)

    def make_source(self) -> DataSource:
        return build_component("dataset", {"type": self.dataset_type, **self.options()})

    def first_items(self, dataset) -> list[dict[str, Any]]:
        if isinstance(dataset, IterableDataset):
            return list(islice(iter(dataset), self.checked_items))
        return [dataset[index] for index in range(min(self.checked_items, len(dataset)))]

    def test_items_carry_a_caption_and_an_image_or_tensors(self) -> None:
        source = self.make_source()
        train = self.first_items(source.train_set())
        assert train, "the training split has items"
        size = source.config.image_size
        for item in train + self.first_items(source.val_set()):
            assert isinstance(item.get("caption"), str) and item["caption"].strip(), f"an item's caption: {item.get('caption')!r}"
            tensors = {key: value for key, value in item.items() if isinstance(value, torch.Tensor)}
            assert tensors, "an item carries an image or other tensors"
            for key, value in tensors.items():
                assert not value.is_floating_point() or bool(torch.isfinite(value).all()), f"{key} is finite"
            if "image" in item:
                image = item["image"]
                assert image.shape == (3, size, size) and image.is_floating_point(), f"image {tuple(image.shape)} {image.dtype}"
                assert -1 <= float(image.min()) and float(image.max()) <= 1, "images lie in [-1, 1]"

    def test_the_same_settings_give_the_same_items(self) -> None:
        first, again = (self.first_items(self.make_source().train_set()) for _ in range(2))
        assert [item["caption"] for item in first] == [item["caption"] for item in again]
        for one, other in zip(first, again):
            for key, value in one.items():
                if isinstance(value, torch.Tensor):
                    assert torch.equal(value, other[key]), f"{key} differs between two sources built alike"

    def test_item_weights_fit_the_training_split(self) -> None:
        source = self.make_source()
        weights = source.train_weights()
        if weights is None:
            pytest.skip("draws every training item equally often")
        train = source.train_set()
        assert not isinstance(train, IterableDataset), "a streamed split has no items to weight"
        IndexStream(len(train), 4, seed=0, weights=weights)  # the device feed's checks: one per item, >= 0, not all 0
        PairDataModule(source, batch_size=4).train_dataloader()  # and the DataLoader's

    def test_a_split_said_to_fit_in_memory_is_held_item_for_item(self) -> None:
        source = self.make_source()
        if not source.fits_in_memory:
            pytest.skip("streams its training split: trained through the DataLoader")
        train = source.train_set()
        module = DeviceDataModule(source, batch_size=min(4, len(train)))
        columns = module.host_columns()
        assert len(columns) == len(train)
        for index, item in enumerate(self.first_items(train)):
            assert columns.captions[int(columns.items["caption_id"][index])] == item["caption"]
            for key, value in item.items():
                if isinstance(value, torch.Tensor):
                    held = to_float_images(columns.items[key][index]) if key == "image" else columns.items[key][index]
                    torch.testing.assert_close(held.float(), value.float(), atol=2e-3, rtol=2e-3, msg=f"held {key} of item {index}")
        batch = module.first_batch()
        assert len(batch["caption_id"]) == min(4, len(train))
