"""`unclip train prior`: fit statistics, train, export a loadable pipeline folder.

Data comes from two small data sources defined here and registered by a real pluggy plugin,
as a third-party package would: precomputed embeddings, and images with captions that the
frozen encoder embeds on the fly.
"""

from typing import ClassVar

import pytest
import torch
import yaml
from torch.utils.data import Dataset

import unclip_core.plugins
import unclip_core.training.stages
from unclip_core import hookimpl
from unclip_core.cli import main
from unclip_core.interfaces import DataConfig, DataSource, EncoderSpec
from unclip_core.pipeline import Pipeline
from unclip_core.plugins import build_registry, plugin_manager
from unclip_core.testing import synthetic_prior_task

# What configs/tiny.yaml's encoder (open_clip unclip-tiny) produces.
TINY_SPEC = EncoderSpec(embed_dim=64, text_width=64, context_length=32, image_size=32)


class PrecomputedPairs(Dataset):
    def __init__(self, size: int, seed: int) -> None:
        self.z_i, self.text = synthetic_prior_task(TINY_SPEC, size, seed=seed)

    def __len__(self) -> int:
        return len(self.z_i)

    def __getitem__(self, i: int) -> dict:
        t = self.text
        return {"image_embedding": self.z_i[i], "text_embedding": t.embedding[i], "text_tokens": t.tokens[i],
                "text_mask": t.mask[i], "caption": f"pair {i}"}


class SizedConfig(DataConfig):
    train_size: int = 512
    val_size: int = 64


class SyntheticEmbeddings(DataSource):
    """Precomputed-embedding items with a known caption -> z_i relation."""

    name: ClassVar[str] = "synthetic_embeddings"
    Config: ClassVar[type[SizedConfig]] = SizedConfig

    def train_set(self):
        return PrecomputedPairs(self.config.train_size, self.config.seed)

    def val_set(self):
        return PrecomputedPairs(self.config.val_size, self.config.seed + 1)


class RandomImages(Dataset):
    CAPTIONS = ("a red circle", "a blue square", "a green triangle", "a yellow star")

    def __init__(self, size: int, image_size: int, seed: int) -> None:
        self.images = torch.rand(size, 3, image_size, image_size, generator=torch.Generator().manual_seed(seed)) * 2 - 1
        self.size = size

    def __len__(self) -> int:
        return self.size

    def __getitem__(self, i: int) -> dict:
        return {"image": self.images[i], "caption": self.CAPTIONS[i % len(self.CAPTIONS)]}


class SyntheticImages(DataSource):
    """Random images with captions: exercises embedding with the frozen encoder."""

    name: ClassVar[str] = "synthetic_images"
    Config: ClassVar[type[SizedConfig]] = SizedConfig

    def train_set(self):
        return RandomImages(self.config.train_size, self.config.image_size, self.config.seed)

    def val_set(self):
        return RandomImages(self.config.val_size, self.config.image_size, self.config.seed + 1)


class SyntheticDataPlugin:
    @hookimpl
    def unclip_register_components(self, register):
        register(SyntheticEmbeddings)
        register(SyntheticImages)


@pytest.fixture(autouse=True)
def registry(monkeypatch):
    """The built-in plugins plus the synthetic-data plugin, wherever the registry is looked up."""
    pm = plugin_manager()
    pm.register(SyntheticDataPlugin(), name="tests.synthetic_data")
    registry = build_registry(pm)
    monkeypatch.setattr(unclip_core.plugins, "get_registry", lambda: registry)
    monkeypatch.setattr(unclip_core.training.stages, "get_registry", lambda: registry)
    yield registry


def write_graph(tmp_path, prior: dict, data: dict) -> str:
    graph = {
        "encoder": {"type": "open_clip", "model": "unclip-tiny", "pretrained": None},
        "prior": prior,
        "data": {"batch_size": 32, "image_size": 32, **data},
        "trainer": {"max_steps": 20, "accelerator": "cpu", "logger": False, "enable_progress_bar": False,
                    "enable_model_summary": False, "limit_val_batches": 1, "num_sanity_val_steps": 0},
        "train": {"prior": {"lr": 1e-3, "warmup_steps": 5, "ema_decay": 0.9}},
        "seed": 0,
        "run_dir": str(tmp_path / "run"),
    }
    path = tmp_path / "graph.yaml"
    path.write_text(yaml.safe_dump(graph))
    return str(path)


def sample_twice(folder):
    pipeline = Pipeline.from_pretrained(folder)
    text = pipeline.encode_text(["a red circle", "a blue square"])
    draws = [pipeline.components.prior.sample(text, generator=torch.Generator().manual_seed(0)) for _ in range(2)]
    return pipeline, draws


DIFFUSION = {"type": "diffusion_prior", "width": 32, "depth": 1, "heads": 2, "timesteps": 50,
             "sampler": {"type": "ddim", "steps": 5}}


@pytest.mark.parametrize(
    "overrides",
    [[], ["prior.type=ar_prior", "prior.components=8", "prior.buckets=32"]],
    ids=["diffusion_prior", "ar_prior"],
)
def test_train_prior_on_precomputed_embeddings(tmp_path, overrides):
    config = write_graph(tmp_path, DIFFUSION, {"type": "synthetic_embeddings"})
    assert main(["--debug", "train", "prior", "--config", config, *overrides]) == 0
    folder = tmp_path / "run" / "pipeline"
    assert (folder / "prior.safetensors").is_file()
    pipeline, (a, b) = sample_twice(folder)
    assert pipeline.graph.prior.type == (overrides[0].split("=")[1] if overrides else "diffusion_prior")
    assert a.shape == (2, 64) and torch.equal(a, b)
    assert (tmp_path / "run" / "prior" / "checkpoints" / "last.ckpt").is_file()


def test_train_prior_embeds_images_with_the_frozen_encoder(tmp_path):
    config = write_graph(tmp_path, DIFFUSION, {"type": "synthetic_images", "train_size": 64, "val_size": 8})
    assert main(["--debug", "train", "prior", "--config", config, "trainer.max_steps=3"]) == 0
    pipeline, (a, b) = sample_twice(tmp_path / "run" / "pipeline")
    assert torch.equal(a, b)
    # The image embeddings the prior was fitted on came from the encoder: its mean is theirs.
    images = RandomImages(64, 32, 0).images
    mean = pipeline.encode_image(images).mean(0)
    torch.testing.assert_close(pipeline.components.prior.image_mean, mean, atol=1e-5, rtol=1e-4)


def test_text_as_image_needs_no_training(tmp_path):
    config = write_graph(tmp_path, {"type": "text_as_image"}, {"type": "synthetic_embeddings"})
    assert main(["--debug", "train", "prior", "--config", config]) == 0
    folder = tmp_path / "run" / "pipeline"
    assert not (folder / "prior.safetensors").exists()  # nothing to save
    assert not (tmp_path / "run" / "prior").exists()  # and nothing was trained
    pipeline = Pipeline.from_pretrained(folder)
    text = pipeline.encode_text(["a red circle"])
    # Renormalizing a unit vector may move its last bit, depending on the CPU's vector width.
    torch.testing.assert_close(pipeline.components.prior.sample(text), text.embedding, rtol=0, atol=1e-6)


def test_config_show_switches_prior_type(capsys, registry):
    # configs/tiny.yaml trains on `shapes`; without that data plugin, show the graph without data.
    data = [] if "shapes" in registry.names("dataset") else ["data="]
    assert main(["--debug", "config", "show", "--config", "configs/tiny.yaml", "prior.type=ar_prior", *data]) == 0
    shown = yaml.safe_load(capsys.readouterr().out)
    assert shown["prior"]["type"] == "ar_prior"
    assert "sampler" not in shown["prior"] and "timesteps" not in shown["prior"]
    assert shown["prior"]["width"] == 64  # keys both types accept are kept


def test_train_prior_on_tiny_config_with_shapes(tmp_path, registry):
    if "shapes" not in registry.names("dataset"):
        pytest.skip("the `shapes` data plugin is not installed")
    overrides = [f"run_dir={tmp_path / 'run'}", "trainer.max_steps=3", "trainer.limit_val_batches=1",
                 "trainer.logger=false", "data.batch_size=16", "data.train_size=64", "data.val_size=16"]
    assert main(["--debug", "train", "prior", "--config", "configs/tiny.yaml", *overrides]) == 0
    _, (a, b) = sample_twice(tmp_path / "run" / "pipeline")
    assert torch.equal(a, b)
