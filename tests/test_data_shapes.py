"""The shapes set: deterministic, held-out pairs kept out of training, and an oracle that reads pixels."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from unclip_core.errors import InputError
from unclip_core.graph import graph_from_dict, build_node
from unclip_core.plugins import get_registry
from unclip_core.testing import DataSourceContract
from unclip_plugins.datasets.shapes import ShapesConfig, ShapesSource
from unclip_plugins.datasets.shapes_attributes import (
    ATTRIBUTE_NAMES,
    COLORS,
    HELD_OUT_PAIRS,
    POSITIONS,
    SHAPES,
    SIZES,
    Attributes,
    all_combinations,
)
from unclip_plugins.datasets.shapes_captions import PHRASINGS, caption, parse_caption
from unclip_plugins.datasets.shapes_oracle import judge, perceive
from unclip_core.images import to_pil

CHANCE = {"color": 1 / len(COLORS), "shape": 1 / len(SHAPES), "size": 1 / len(SIZES), "position": 1 / len(POSITIONS)}


def source(**settings) -> ShapesSource:
    return ShapesSource(ShapesConfig(**settings))


class TestShapesSourceContract(DataSourceContract):
    dataset_type = "shapes"
    dataset_options = {"image_size": 16, "train_size": 24, "val_size": 8, "phrasings": True}


def test_items_are_images_in_range_with_captions():
    item = source(image_size=32).train_set()[0]
    assert item["image"].shape == (3, 32, 32) and item["image"].dtype == torch.float32
    assert -1 <= item["image"].min() < item["image"].max() <= 1
    assert isinstance(item["caption"], str) and item["caption"]


def test_same_seed_same_items_other_seed_other_items():
    a, b, c = (source(image_size=32, seed=s).train_set() for s in (0, 0, 1))
    for i in (0, 7, 19999):
        assert a[i]["caption"] == b[i]["caption"]
        assert torch.equal(a[i]["image"], b[i]["image"])
    assert [a[i]["caption"] for i in range(20)] != [c[i]["caption"] for i in range(20)]


def test_held_out_pairs_only_in_val():
    data = source(image_size=32, train_size=3000, val_size=300)
    train, val = data.train_set(), data.val_set()
    train_pairs = {(a.color, a.shape) for a in (train.describe(i)[0] for i in range(len(train)))}
    val_pairs = {(a.color, a.shape) for a in (val.describe(i)[0] for i in range(len(val)))}
    assert not train_pairs & HELD_OUT_PAIRS
    assert val_pairs == set(HELD_OUT_PAIRS)
    # Every color and every shape is still seen in training.
    assert {c for c, _ in train_pairs} == set(COLORS) and {s for _, s in train_pairs} == set(SHAPES)


def test_every_phrasing_parses_back():
    for attributes in all_combinations():
        for k in range(len(PHRASINGS)):
            assert parse_caption(caption(attributes, k)) == attributes


def test_phrasings_vary_and_can_be_turned_off():
    varied = {source(image_size=32).train_set()[i]["caption"].split()[0] for i in range(50)}
    assert len(varied) > 2
    plain = [source(image_size=32, phrasings=False).train_set()[i]["caption"] for i in range(20)]
    assert all(c.startswith("a ") and " at the " in c for c in plain)


def test_parser_accepts_synonyms_and_names_what_is_missing():
    assert parse_caption("A Large BLUE square in the upper left").position == "top left"
    assert parse_caption("small red circle in the middle").position == "center"
    with pytest.raises(InputError, match="no color"):
        parse_caption("a small circle at the top")
    with pytest.raises(InputError, match="several"):
        parse_caption("a small red blue circle at the top")


@pytest.mark.parametrize("size", [32, 64])
def test_oracle_reads_true_renders(size):
    data = source(image_size=size, train_size=600, val_size=200)
    items = [data.train_set()[i] for i in range(600)] + [data.val_set()[i] for i in range(200)]
    results = [judge(item["image"], item["caption"]) for item in items]
    for name in ATTRIBUTE_NAMES:
        assert np.mean([r[name] for r in results]) >= 0.99, name
    assert all(r["parsed"] for r in results)


def test_oracle_is_near_chance_on_shuffled_captions():
    data = source(image_size=32, train_size=800).train_set()
    items = [data[i] for i in range(800)]
    order = np.random.default_rng(0).permutation(len(items))
    results = [judge(items[i]["image"], items[j]["caption"]) for i, j in enumerate(order)]
    for name in ATTRIBUTE_NAMES:
        assert np.mean([r[name] for r in results]) < CHANCE[name] + 0.1, name


def test_oracle_accepts_pil_images_and_blank_images():
    item = source(image_size=64).train_set()[3]
    assert all(judge(to_pil(item["image"][None])[0], item["caption"]).values())
    blank = torch.full((3, 32, 32), 0.8)
    assert perceive(blank) is None
    assert not any(judge(blank, item["caption"])[name] for name in ATTRIBUTE_NAMES)
    assert judge(item["image"], "nothing to see")["parsed"] is False


def test_oracle_survives_mild_noise():
    data = source(image_size=64, train_size=200).train_set()
    noise = torch.Generator().manual_seed(0)
    results = [
        judge((data[i]["image"] + 0.03 * torch.randn(3, 64, 64, generator=noise)).clamp(-1, 1), data[i]["caption"])
        for i in range(200)
    ]
    for name in ATTRIBUTE_NAMES:
        assert np.mean([r[name] for r in results]) >= 0.95, name


def test_graph_builds_shapes_by_type():
    graph = graph_from_dict({"encoder": {"type": "open_clip"}, "data": {"type": "shapes", "image_size": 32}})
    built = build_node(graph.data, get_registry())
    assert isinstance(built, ShapesSource) and len(built.train_set()) == 20000
    assert Attributes("red", "triangle", "small", "top").held_out
