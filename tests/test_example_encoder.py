"""A third-party encoder with no notion of pretrained weights trains, saves and reloads."""

import torch
from safetensors.torch import load_file

from unclip_core.cli import main
from unclip_core.pipeline import Pipeline
from unclip_core.plugins import get_registry
from unclip_core.training.recipe import stages

from .conftest import ROOT


def test_an_encoder_without_a_pretrained_field_reloads_from_its_pipeline_folder(tmp_path):
    encoder = get_registry().get("encoder", "byte_clip")
    assert "pretrained" not in encoder.Config.model_fields
    run = tmp_path / "run"
    overrides = [
        "encoder.type=byte_clip", "prior=null", "decoder=null", "upsamplers=[]", f"run_dir={run}",
        "trainer.max_steps=3", "trainer.limit_val_batches=0", "trainer.logger=false", "data.batch_size=16",
    ]
    assert main(["train", "clip", "--config", str(ROOT / "configs/tiny.yaml"), *overrides]) == 0

    saved = load_file(run / "pipeline" / "encoder.safetensors")
    pipeline = Pipeline.from_pretrained(run / "pipeline")
    assert pipeline.graph.encoder.type == "byte_clip"
    for name, tensor in pipeline.components.encoder.state_dict().items():
        torch.testing.assert_close(tensor, saved[name].to(tensor.dtype))
    # Trained for 3 steps, the weights are not the random initialization of a fresh build.
    fresh = encoder(encoder.Config())
    assert any(not torch.equal(fresh.state_dict()[k], v) for k, v in saved.items())
    text = pipeline.encode_text(["a small red circle at the top left"])
    assert text.embedding.shape == (1, 32) and torch.allclose(text.embedding.norm(dim=-1), torch.tensor(1.0))


def test_the_recipe_asks_the_encoder_whether_it_is_pretrained(tmp_path):
    from unclip_core.graph import load_graph

    own = load_graph(ROOT / "configs/tiny.yaml", ["encoder.type=byte_clip"])
    assert stages(own)[0].name == "encoder"  # no pretrained weights: CLIP is trained first
    weights = tmp_path / "clip.safetensors"
    weights.write_bytes(b"")
    given = load_graph(ROOT / "configs/tiny.yaml", [f"encoder.pretrained={weights}"])
    assert stages(given)[0].name != "encoder"  # open_clip with a weight file: nothing to train
