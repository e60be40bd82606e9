"""The bundled default model: found by name, verified against registry.yaml, refused when tampered."""

import json
import shutil

import pytest

from unclip_core.catalog import load_catalog
from unclip_core.errors import WeightsError
from unclip_core.pipeline import Pipeline, resolve_model
from unclip_core.weights import sha256_of, verify_folder


def test_default_model_is_registered_with_a_sha256_for_every_file():
    catalog = load_catalog()
    assert catalog.default_model == "unclip-emoji"
    model = catalog.models["unclip-emoji"]
    files = sorted(p.name for p in model.folder.iterdir() if p.name != "checksums.json")
    assert sorted(model.sha256) == files
    for name, digest in model.sha256.items():
        assert sha256_of(model.folder / name) == digest, name


def test_bundled_checksums_verify_and_fit_the_size_budget():
    folder, expected = resolve_model(None)
    sums = verify_folder(folder, expected)
    assert sums == json.loads((folder / "checksums.json").read_text())
    weights = sum(p.stat().st_size for p in folder.glob("*.safetensors"))
    assert weights <= 40 * 2**20


def test_a_tampered_weight_file_is_refused(tmp_path):
    folder, expected = resolve_model("unclip-emoji")
    copy = tmp_path / "model"
    shutil.copytree(folder, copy)
    data = bytearray((copy / "upsampler_0.safetensors").read_bytes())
    data[-1] ^= 0xFF
    (copy / "upsampler_0.safetensors").write_bytes(bytes(data))
    with pytest.raises(WeightsError, match="upsampler_0.safetensors does not match its sha256"):
        Pipeline.from_pretrained(copy)
    with pytest.raises(WeightsError, match="sha256"):  # and against registry.yaml's sums alone
        verify_folder(copy, {"upsampler_0.safetensors": expected["upsampler_0.safetensors"]})
