"""A registered model with a `base:` ships only what differs; the rest comes, verified, from the base."""

import shutil

import pytest
import torch
import yaml
from omegaconf import OmegaConf

from unclip_core.catalog import catalog_path, load_catalog
from unclip_core.errors import ConfigError, WeightsError
from unclip_core.experiments.retraining import prepare_run
from unclip_core.graph import graph_from_dict
from unclip_core.pipeline import Pipeline, resolve_model
from unclip_core.weights import save_folder, sha256_of


def test_the_bundled_ar_variant_has_its_own_prior_and_the_base_decoder():
    ar, base = Pipeline.from_pretrained("unclip-emoji-ar"), Pipeline.from_pretrained("unclip-emoji")
    assert ar.graph.prior.type == "ar_prior" and base.graph.prior.type == "diffusion_prior"
    for stem in ("encoder", "decoder", "upsampler_0"):
        mine, theirs = ar.modules()[stem].state_dict(), base.modules()[stem].state_dict()
        assert all(torch.equal(mine[k], theirs[k]) for k in theirs), stem
    files = resolve_model("unclip-emoji-ar")
    assert files.path("prior.safetensors").parent == files.folder
    assert files.path("decoder.safetensors").parent == resolve_model("unclip-emoji").folder
    assert files.checksums() == files.verify()  # what experiments key their runs by


def write_registry(folder, models):
    """A registry.yaml in `folder` with the real one's plugins and these models; the shipped
    configs are found next to a registry file, so they are linked in."""
    real = yaml.safe_load(catalog_path().read_text())
    if not (folder / "configs").exists():
        (folder / "configs").symlink_to(catalog_path().parent / "configs")
    path = folder / "registry.yaml"
    path.write_text(yaml.safe_dump({"plugins": real["plugins"], "models": models, "default_model": next(iter(models))}))
    return path


@pytest.fixture
def variant_registry(tmp_path, monkeypatch):
    """`small` is a copy of unclip-shapes; `small-fast` ships only a pipeline.yaml with fewer decoder steps."""
    base = tmp_path / "small"
    shutil.copytree(resolve_model("unclip-shapes").folder, base)
    raw = OmegaConf.load(base / "pipeline.yaml")
    raw.decoder.sampler.steps = 3
    save_folder(tmp_path / "small-fast", OmegaConf.to_yaml(raw), {})
    sums = lambda folder: {p.name: sha256_of(p) for p in folder.iterdir() if p.name != "checksums.json"}  # noqa: E731
    path = write_registry(tmp_path, {
        "small": {"folder": "small", "sha256": sums(base)},
        "small-fast": {"folder": "small-fast", "base": "small", "sha256": sums(tmp_path / "small-fast")},
    })
    monkeypatch.setenv("UNCLIP_REGISTRY", str(path))
    load_catalog.cache_clear()
    yield tmp_path
    load_catalog.cache_clear()


def test_a_variant_loads_its_graph_and_the_base_weights(variant_registry):
    fast, base = Pipeline.from_pretrained("small-fast"), Pipeline.from_pretrained("small")
    steps = lambda pipe: pipe.graph.decoder.nested["sampler"].config.steps  # noqa: E731
    assert steps(fast) == 3 != steps(base)
    mine, theirs = fast.components.decoder.state_dict(), base.components.decoder.state_dict()
    assert all(torch.equal(mine[k], theirs[k]) for k in theirs)


def test_a_variant_whose_prior_learns_nothing_does_not_take_the_base_prior(variant_registry, tmp_path):
    raw = OmegaConf.load(variant_registry / "small" / "pipeline.yaml")
    raw.prior = {"type": "text_as_image"}
    save_folder(variant_registry / "small-text", OmegaConf.to_yaml(raw), {})
    registry = yaml.safe_load((variant_registry / "registry.yaml").read_text())
    registry["models"]["small-text"] = {"folder": "small-text", "base": "small"}
    (variant_registry / "registry.yaml").write_text(yaml.safe_dump(registry))
    load_catalog.cache_clear()
    pipe = Pipeline.from_pretrained("small-text")
    assert pipe.graph.prior.type == "text_as_image" and not pipe.components.prior.state_dict()


def test_a_tampered_base_file_is_refused_when_the_variant_loads(variant_registry):
    path = variant_registry / "small" / "decoder.safetensors"
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(WeightsError, match="decoder.safetensors does not match its sha256"):
        Pipeline.from_pretrained("small-fast")


def test_an_experiment_run_copies_the_weights_a_variant_takes_from_its_base(variant_registry):
    files = resolve_model("small-fast")
    raw = OmegaConf.load(files.graph_file)
    graph = graph_from_dict(raw, [f"run_dir={variant_registry / 'run'}"])
    prepare_run(files, graph, retrain=["prior"])
    copied = variant_registry / "run" / "pipeline" / "decoder.safetensors"
    assert sha256_of(copied) == sha256_of(variant_registry / "small" / "decoder.safetensors")


def test_an_unknown_base_or_a_loop_of_bases_is_refused_when_the_registry_is_read(tmp_path):
    with pytest.raises(ConfigError, match="model 'a' names base 'nowhere', which is not a model of this file"):
        load_catalog(write_registry(tmp_path, {"a": {"folder": "a", "base": "nowhere"}}))
    (tmp_path / "loop").mkdir()
    with pytest.raises(ConfigError, match=r"models a -> b -> a are each other's base"):
        load_catalog(write_registry(tmp_path / "loop", {"a": {"folder": "a", "base": "b"}, "b": {"folder": "b", "base": "a"}}))
