"""The bundled models: found by name, verified against registry.yaml, refused when tampered;
the shapes model deterministic under a seed and drawing what its prompts say."""

import json
import shutil

import pytest
import torch

from unclip_core.catalog import load_catalog
from unclip_core.errors import WeightsError
from unclip_core.pipeline import Pipeline, resolve_model
from unclip_core.weights import sha256_of, verify_folder


@pytest.mark.parametrize("name", ["unclip-emoji", "unclip-emoji-ar", "unclip-shapes"])
def test_bundled_model_is_registered_with_a_sha256_for_every_file(name):
    catalog = load_catalog()
    assert catalog.default_model == "unclip-emoji"
    model = catalog.models[name]
    files = sorted(p.name for p in model.folder.iterdir() if p.name != "checksums.json")
    assert sorted(model.sha256) == files
    for name, digest in model.sha256.items():
        assert sha256_of(model.folder / name) == digest, name


@pytest.mark.parametrize("name, budget_mib", [(None, 40), ("unclip-emoji-ar", 8), ("unclip-shapes", 16)])
def test_bundled_checksums_verify_and_fit_the_size_budget(name, budget_mib):
    files = resolve_model(name)
    sums = files.verify()
    assert json.loads((files.folder / "checksums.json").read_text()).items() <= sums.items()
    weights = sum(p.stat().st_size for p in files.folder.glob("*.safetensors"))
    assert weights <= budget_mib * 2**20


def test_all_bundled_weights_fit_64_mib():
    catalog = load_catalog()
    total = sum(p.stat().st_size for model in catalog.models.values() for p in model.folder.glob("*.safetensors"))
    assert total <= 64 * 2**20


@pytest.fixture(scope="module")
def shapes_model():
    return Pipeline.from_pretrained("unclip-shapes")


def test_shapes_model_is_deterministic_under_a_seed(shapes_model):
    prompts = ["a large red circle in the center", "small blue square, top left"]
    first = shapes_model.generate(prompts, generator=torch.Generator().manual_seed(3), progress=False)
    again = shapes_model.generate(prompts, generator=torch.Generator().manual_seed(3), progress=False)
    other = shapes_model.generate(prompts, generator=torch.Generator().manual_seed(4), progress=False)
    assert first.shape == (2, 3, 64, 64)
    assert torch.equal(first, again) and not torch.equal(first, other)


def test_shapes_model_draws_what_its_prompts_say(shapes_model):
    """The pixel oracle on one image per prompt of 12 seen and 12 held-out attribute sets."""
    from unclip_plugins.datasets.shapes_attributes import ATTRIBUTE_NAMES, split_combinations
    from unclip_plugins.datasets.shapes_captions import caption
    from unclip_plugins.datasets.shapes_oracle import judge

    for split, floor in (("train", 0.9), ("val", 0.85)):
        combinations = split_combinations(split)[::7][:12]
        prompts = [caption(a, phrasing=i) for i, a in enumerate(combinations)]
        images = shapes_model.generate(prompts, generator=torch.Generator().manual_seed(0), progress=False)
        verdicts = [judge(image, prompt) for image, prompt in zip(images, prompts)]
        right = sum(v[name] for v in verdicts for name in ATTRIBUTE_NAMES) / (len(ATTRIBUTE_NAMES) * len(verdicts))
        print(f"{split}: {right:.1%} of attributes right")
        assert right >= floor


def test_a_tampered_weight_file_is_refused(tmp_path):
    files = resolve_model("unclip-emoji")
    folder, expected = files.folder, files.layers[0][1]
    copy = tmp_path / "model"
    shutil.copytree(folder, copy)
    data = bytearray((copy / "upsampler_0.safetensors").read_bytes())
    data[-1] ^= 0xFF
    (copy / "upsampler_0.safetensors").write_bytes(bytes(data))
    with pytest.raises(WeightsError, match="upsampler_0.safetensors does not match its sha256"):
        Pipeline.from_pretrained(copy)
    with pytest.raises(WeightsError, match="sha256"):  # and against registry.yaml's sums alone
        verify_folder(copy, {"upsampler_0.safetensors": expected["upsampler_0.safetensors"]})
