"""Saved pipelines: exact round trips, checksums, clear errors, atomic writes."""

import json

import pytest
import torch
from torch import nn

from unclip_core import hookimpl
from unclip_core.errors import WeightsError
from unclip_core.graph import graph_from_dict
from unclip_core.pipeline import Pipeline
from unclip_core.testing import installed_plugins
from unclip_core.weights import CHECKSUM_FILE, load_module, save_folder


@pytest.fixture
def pipeline(tiny_graph_dict) -> Pipeline:
    torch.manual_seed(0)
    return Pipeline.from_graph(graph_from_dict(tiny_graph_dict))


def test_save_and_load_round_trip_exactly(pipeline, tmp_path):
    folder = pipeline.save_pretrained(tmp_path / "model")
    assert sorted(p.name for p in folder.iterdir()) == ["checksums.json", "encoder.safetensors", "pipeline.yaml"]
    loaded = Pipeline.from_pretrained(folder)
    assert loaded.graph == pipeline.graph
    original = pipeline.components.encoder.state_dict()
    for key, value in loaded.components.encoder.state_dict().items():
        assert torch.equal(value, original[key]), key
    text = ["a red circle"]
    torch.testing.assert_close(loaded.encode_text(text).embedding, pipeline.eval().encode_text(text).embedding, rtol=0, atol=0)


def test_half_precision_save_halves_the_file(pipeline, tmp_path):
    full = pipeline.save_pretrained(tmp_path / "full") / "encoder.safetensors"
    half = pipeline.save_pretrained(tmp_path / "half", dtype=torch.float16) / "encoder.safetensors"
    assert half.stat().st_size < 0.55 * full.stat().st_size
    loaded = Pipeline.from_pretrained(half.parent)
    assert loaded.components.encoder.model.logit_scale.dtype == torch.float32  # restored to the model's dtype


def test_corrupted_file_is_rejected_by_checksum(pipeline, tmp_path):
    folder = pipeline.save_pretrained(tmp_path / "model")
    path = folder / "encoder.safetensors"
    data = bytearray(path.read_bytes())
    data[-10] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(WeightsError, match=r"encoder.safetensors does not match its sha256"):
        Pipeline.from_pretrained(folder)


def test_registry_checksums_are_enforced(pipeline, tmp_path):
    from unclip_core.weights import verify_folder

    folder = pipeline.save_pretrained(tmp_path / "model")
    with pytest.raises(WeightsError, match="does not match its sha256"):
        verify_folder(folder, {"encoder.safetensors": "0" * 64})


def test_truncated_safetensors_is_a_clear_error(tmp_path):
    path = tmp_path / "broken.safetensors"
    path.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json")
    with pytest.raises(WeightsError, match="is not a readable safetensors file"):
        load_module(nn.Linear(2, 2), path)


def test_shape_mismatch_names_tensor_and_both_shapes(pipeline, tmp_path):
    folder = pipeline.save_pretrained(tmp_path / "model")
    with pytest.raises(WeightsError, match=r"tensor 'model.visual.positional_embedding' has shape \(17, 64\) in the file but \(37, 64\) in the model"):
        Pipeline.from_pretrained(folder, overrides=["encoder.image_size=48"])


def test_missing_and_unexpected_tensors_are_named(tmp_path):
    save_folder(tmp_path / "m", "{}", {"layer": nn.Linear(2, 3)})
    with pytest.raises(WeightsError, match=r"missing tensors 'extra.weight'.*unexpected tensors 'bias', 'weight'"):
        load_module(_Wrapped(), tmp_path / "m" / "layer.safetensors")


class _Wrapped(nn.Module):
    def __init__(self):
        super().__init__()
        self.extra = nn.Linear(2, 3, bias=False)


def test_missing_weight_file_is_an_incomplete_folder(pipeline, tmp_path):
    folder = pipeline.save_pretrained(tmp_path / "model")
    (folder / "encoder.safetensors").unlink()
    sums = json.loads((folder / CHECKSUM_FILE).read_text())
    del sums["encoder.safetensors"]
    (folder / CHECKSUM_FILE).write_text(json.dumps(sums))
    with pytest.raises(WeightsError, match="has no encoder.safetensors"):
        Pipeline.from_pretrained(folder)


class _FailsToSave(nn.Module):
    def state_dict(self, *args, **kwargs):
        raise RuntimeError("disk full")


def test_failed_save_leaves_the_previous_folder_intact(pipeline, tmp_path):
    folder = pipeline.save_pretrained(tmp_path / "model")
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    with pytest.raises(RuntimeError, match="disk full"):
        save_folder(folder, "{}", {"encoder": pipeline.components.encoder, "prior": _FailsToSave()})
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before
    assert [p.name for p in tmp_path.iterdir()] == ["model"]  # no staging leftovers


def test_not_a_pipeline_folder(tmp_path):
    with pytest.raises(WeightsError, match="is not a pipeline folder"):
        Pipeline.from_pretrained(tmp_path)


def test_unknown_model_name_lists_known_ones():
    with pytest.raises(WeightsError, match="'no-such-model' is neither a pipeline folder nor a known model"):
        Pipeline.from_pretrained("no-such-model")


def test_a_plugin_can_ship_named_models(pipeline, tmp_path):
    folder = pipeline.save_pretrained(tmp_path / "shipped")

    class Ships:
        @hookimpl
        def unclip_register_models(self, register):
            register("tiny-shipped", folder)

    with installed_plugins(shipper=Ships()) as registry:
        assert registry.models()["tiny-shipped"].plugin == "shipper"
        loaded = Pipeline.from_pretrained("tiny-shipped")
    assert loaded.graph == pipeline.graph
