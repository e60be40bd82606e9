"""Feeding training from a split held on the device: every item once per pass, the DataLoader's
captions, real Lightning runs on it (resume included), and the batched degradations."""

from collections import Counter

import pytest
import torch
import torch.nn.functional as F

from unclip_core import hookimpl
from unclip_core.cli import main
from unclip_core.graph import build_node, graph_from_dict, load_graph
from unclip_core.interfaces import DataSource
from unclip_core.testing import installed_plugins
from unclip_core.plugins import get_registry
from unclip_core.training.columns import build_columns, to_float_images
from unclip_core.training.config import StageConfig
from unclip_core.training.data import DeviceDataModule, PairDataModule
from unclip_core.training.feed import DeviceBatches, IndexStream
from unclip_core.training.optim import batch_scaled
from unclip_core.training.stages import data_module
from unclip_plugins.unet.degradations import random_resize, resize_down_and_back

from .conftest import ROOT


def shapes_source(train_size: int, batch_size: int, seed: int = 3):
    graph = graph_from_dict({
        "encoder": {"type": "open_clip", "model": "unclip-tiny"},
        "data": {"type": "shapes", "image_size": 16, "train_size": train_size, "batch_size": batch_size,
                 "seed": seed, "phrasings": True},
    })
    return build_node(graph.data, get_registry())


def test_every_item_once_per_pass_of_the_stream_and_every_batch_full():
    stream = IndexStream(count=50, batch_size=8, seed=1)
    drawn = torch.cat([stream.batch(g) for g in range(25)])  # 200 draws: four passes
    assert all(len(stream.batch(g)) == 8 for g in range(25))
    for start in range(0, 200, 50):
        assert sorted(drawn[start : start + 50].tolist()) == list(range(50))
    assert not torch.equal(drawn[:50], drawn[50:100])  # each pass is its own permutation
    assert torch.equal(IndexStream(50, 8, seed=1).batch(17), stream.batch(17))  # a function of (seed, g)
    assert not torch.equal(IndexStream(50, 8, seed=2).batch(0), stream.batch(0))


def test_weighted_streams_draw_in_proportion_and_the_loader_draws_alike():
    weights = torch.tensor([0.0, 1.0, 2.0, 5.0, 0.0, 8.0])
    stream = IndexStream(count=6, batch_size=64, seed=1, weights=weights)
    drawn = torch.cat([stream.batch(g) for g in range(250)])  # 16,000 draws
    assert all(len(stream.batch(g)) == 64 for g in range(3)) and drawn.dtype == torch.long
    shares = torch.bincount(drawn, minlength=6) / len(drawn)
    torch.testing.assert_close(shares, weights / weights.sum(), atol=0.015, rtol=0)  # zero weight: never drawn
    assert torch.equal(IndexStream(6, 64, seed=1, weights=weights).batch(17), stream.batch(17))  # a function of (seed, g)
    assert not torch.equal(IndexStream(6, 64, seed=2, weights=weights).batch(0), stream.batch(0))

    source = shapes_source(train_size=6, batch_size=4)
    source.train_weights = lambda: weights  # a source that weights its items
    loader = PairDataModule(source).train_dataloader()
    assert len(loader) == 1  # an epoch is still len(split) draws
    sampled = torch.tensor([i for _ in range(2000) for i in loader.sampler])
    torch.testing.assert_close(torch.bincount(sampled, minlength=6) / len(sampled), shares, atol=0.02, rtol=0)
    module = DeviceDataModule(source)
    module.setup("fit")
    assert torch.equal(module._stream.batch(5), IndexStream(6, 4, seed=3, weights=weights).batch(5))


@pytest.mark.parametrize("weights, problem", [
    (torch.ones(5), "gives \\(5,\\) item weights for 6 training items"),
    (torch.tensor([1.0, -1.0, 1.0, 1.0, 1.0, 1.0]), "non-negative"),
    (torch.zeros(6), "not all zero"),
])
def test_bad_item_weights_are_refused_before_training(weights, problem):
    with pytest.raises(ValueError, match=problem):
        IndexStream(6, 4, seed=0, weights=weights)
    source = shapes_source(train_size=6, batch_size=4)
    source.train_weights = lambda: weights
    with pytest.raises(ValueError, match=problem):
        PairDataModule(source).train_dataloader()


def test_device_batches_hold_each_training_image_once_with_the_loaders_captions():
    source = shapes_source(train_size=96, batch_size=16)
    dataset = source.train_set()
    module = DeviceDataModule(source, tokenizer=lambda texts: torch.tensor([[len(t), hash(t) % 97] for t in texts]))
    module.setup("fit")
    batches = list(module.train_dataloader())
    assert len(batches) == 6 and all(b["image"].dtype == torch.uint8 for b in batches)

    images = torch.cat([to_float_images(b["image"]) for b in batches])
    expected = torch.stack([dataset[i]["image"] for i in range(len(dataset))])
    # Every training image exactly once: the drawn images, sorted by content, are the dataset's.
    key = lambda x: x.flatten(1) @ torch.linspace(-1, 1, x[0].numel())  # noqa: E731
    torch.testing.assert_close(images[key(images).argsort()], expected[key(expected).argsort()], atol=1e-6, rtol=0)

    columns = module.host_columns()
    drawn = [columns.captions[i] for b in batches for i in b["caption_id"].tolist()]
    loader = PairDataModule(source).train_dataloader()
    loaded = [c for b in loader for c in b["caption"]]
    assert Counter(drawn) == Counter(loaded) == Counter(dataset[i]["caption"] for i in range(len(dataset)))
    phrasings = Counter(c.split(" ")[0] for c in drawn)
    assert len(phrasings) > 1  # the set does vary its phrasing, and both paths draw the same mix
    # Tokens are the tokenized caption of each item, gathered rather than computed per step.
    first = batches[0]
    names = [columns.captions[i] for i in first["caption_id"].tolist()]
    assert first["tokens"].tolist() == [[len(t), hash(t) % 97] for t in names]


def test_epochs_continue_the_stream_so_no_item_is_dropped():
    source = shapes_source(train_size=40, batch_size=16)
    module = DeviceDataModule(source)
    module.setup("fit")
    columns, stream = module._placed, module._stream
    epochs = [list(DeviceBatches(columns, stream, epoch=e)) for e in range(5)]
    assert [len(e) for e in epochs] == [2] * 5  # 40 // 16 full batches; the rest opens the next epoch
    for e, batches in enumerate(epochs):
        for j, batch in enumerate(batches):
            assert torch.equal(batch["image"], columns.items["image"][stream.batch(2 * e + j)])
    # Two ranks split the stream between them: together they draw what one would, in turn.
    rank0, rank1 = (list(DeviceBatches(columns, stream, epoch=0, rank=r, ranks=2)) for r in (0, 1))
    assert len(rank0) == 1 and torch.equal(rank1[0]["caption_id"], columns.items["caption_id"][stream.batch(1)])
    # Lightning iterates one dataloader object once per epoch: each pass is the next epoch.
    loader = module.train_dataloader()
    once, twice = list(loader), list(loader)
    assert torch.equal(twice[0]["image"], columns.items["image"][stream.batch(2)])
    assert not torch.equal(once[0]["image"], twice[0]["image"])


def test_columns_keep_float_images_that_are_not_8_bit_as_float16():
    images = torch.rand(4, 3, 8, 8) * 2 - 1
    columns = build_columns([{"image": image, "caption": "x"} for image in images])
    assert columns.items["image"].dtype == torch.float16
    torch.testing.assert_close(to_float_images(columns.items["image"]), images, atol=1e-3, rtol=0)


def test_auto_feed_holds_fitting_sources_on_the_device_and_streams_the_rest(tmp_path):
    graph = load_graph(ROOT / "configs/tiny.yaml", ["data.train_size=16"])
    assert isinstance(data_module(graph, "prior"), DeviceDataModule)
    forced = load_graph(ROOT / "configs/tiny.yaml", ["train.prior.feed=loader"])
    assert type(data_module(forced, "prior")) is PairDataModule


class EmptySource(DataSource):
    """A data source whose settings leave no training items."""

    name = "nothing_left"
    fits_in_memory = True

    def train_set(self):
        return []

    def val_set(self):
        return []


class RegistersEmptySource:
    @hookimpl
    def unclip_register_components(self, register):
        register(EmptySource)


def test_an_empty_training_split_is_refused_before_a_run_folder_is_made(tmp_path, capsys):
    graph = tmp_path / "graph.yaml"
    graph.write_text((ROOT / "configs/tiny.yaml").read_text().replace("type: shapes", "type: nothing_left"))
    with installed_plugins(empty=RegistersEmptySource()):
        code = main(["train", "prior", "--config", str(graph), f"run_dir={tmp_path / 'run'}"])
    assert code == 2
    assert "the 'nothing_left' source has no training items with these settings" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


def test_batch_scaled_lr_and_warmup_follow_the_square_root_rule():
    stage = StageConfig(lr=1e-4, warmup_steps=100, reference_batch_size=128)
    assert batch_scaled(stage, 128) == (1e-4, 100)
    lr, warmup = batch_scaled(stage, 4096)
    assert lr == pytest.approx(1e-4 * 32**0.5) and warmup == round(100 * 32**0.5)
    assert batch_scaled(StageConfig(lr=1e-4, warmup_steps=100), 4096) == (1e-4, 100)  # no reference: as given


def test_bsr_resize_scale_differs_per_image_and_matches_interpolate():
    image = torch.rand(1, 3, 32, 32) * 2 - 1
    batch = image.expand(16, -1, -1, -1).contiguous()
    out = random_resize(batch, (0.3, 1.0), torch.Generator().manual_seed(0))
    distinct = torch.unique(out.flatten(1).round(decimals=5), dim=0)
    assert distinct.shape[0] > 8  # one image, sixteen copies: the copies were resized differently
    scale = torch.tensor([0.5, 0.8])
    ours = resize_down_and_back(batch[:2], scale)
    for i, small in enumerate((16, 26)):
        down = F.interpolate(batch[i : i + 1], size=(small, small), mode="bilinear", antialias=True, align_corners=False)
        reference = F.interpolate(down, size=(32, 32), mode="bicubic", align_corners=False)
        torch.testing.assert_close(ours[i : i + 1], reference, atol=1e-5, rtol=0)
