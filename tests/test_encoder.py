import pytest
import torch
from safetensors.torch import save_file

from unclip_core.errors import ConfigError
from unclip_core.testing import EncoderContract, build_component
from unclip_core.weights import state_tensors

from .conftest import ROOT


class TestOpenCLIPTiny(EncoderContract):
    encoder_section = {"type": "open_clip", "model": "unclip-tiny"}


class TestOpenCLIPFromJsonFile(EncoderContract):
    encoder_section = {"type": "open_clip", "model": str(ROOT / "configs/open_clip/unclip-tiny.json"), "image_size": 48}


def _differs_from_fresh(encoder) -> bool:
    fresh = build_component("encoder", {"type": "open_clip", "model": "unclip-tiny"})
    return not torch.equal(fresh.model.text.token_embedding.weight, encoder.model.text.token_embedding.weight)


@pytest.mark.parametrize("suffix", [".safetensors", ".pt"])
def test_pretrained_weights_from_a_local_open_clip_file(tmp_path, suffix):
    """A checkpoint in open_clip's own format (as users download them) loads exactly."""
    torch.manual_seed(123)
    source = build_component("encoder", {"type": "open_clip", "model": "unclip-tiny"})
    path = tmp_path / f"open_clip_model{suffix}"
    weights = state_tensors(source.model)
    if suffix == ".safetensors":
        save_file(weights, path)
    else:
        torch.save(weights, path)
    loaded = build_component("encoder", {"type": "open_clip", "model": "unclip-tiny", "pretrained": str(path)})
    assert _differs_from_fresh(loaded)
    for key, value in source.model.state_dict().items():
        assert torch.equal(value, loaded.model.state_dict()[key]), key


def test_missing_weight_file_is_named(tmp_path):
    with pytest.raises(ConfigError, match="encoder.pretrained: weight file .*nope.safetensors' not found"):
        build_component("encoder", {"type": "open_clip", "pretrained": str(tmp_path / "nope.safetensors")})


def test_unknown_model_name_says_what_to_use():
    with pytest.raises(ConfigError, match="unknown open_clip model 'ViT-Q-99'.*list_models"):
        build_component("encoder", {"type": "open_clip", "model": "ViT-Q-99"})
