"""scripts/retrain_emoji.sh end to end on the CPU, at a tiny budget: a decoder of another size
started fresh, the upsampler continued from the bundled one, and the model folder it assembles."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from safetensors.torch import load_file

from unclip_core.pipeline import Pipeline

from tests.test_data_emoji import needs_font

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "retrain_emoji.sh"


def retrain(tmp_path: Path, *overrides: str, **env: str) -> subprocess.CompletedProcess:
    environment = {**os.environ, "UNCLIP": f"{sys.executable} -m unclip_core.cli", "PYTHON": sys.executable,
                   "RUNS": str(tmp_path / "runs"), **env}
    return subprocess.run(["bash", str(SCRIPT), str(tmp_path / "out"), *overrides], cwd=ROOT, env=environment,
                          capture_output=True, text=True, timeout=600)


def refused(tmp_path: Path, result: subprocess.CompletedProcess) -> str:
    """The one line a refusal prints, after checking that it exited 2 before writing anything."""
    assert result.returncode == 2, result.stdout[-2000:] + result.stderr[-2000:]
    assert not (tmp_path / "out").exists() and not (tmp_path / "runs").exists()
    [line] = result.stderr.strip().splitlines()
    return line


def test_a_stage_it_does_not_train_cannot_start_fresh(tmp_path):
    line = refused(tmp_path, retrain(tmp_path, FRESH="prior"))
    assert line == "FRESH: 'prior' is not a stage this script trains (decoder, upsampler_0)"


def test_a_wrong_override_is_refused_in_one_line(tmp_path):
    line = refused(tmp_path, retrain(tmp_path, "decoder.chanels=80"))
    assert line == "error: unknown key 'decoder.chanels' (did you mean 'channels'?)"


def test_a_fresh_stage_needs_a_budget(tmp_path):
    line = refused(tmp_path, retrain(tmp_path, FRESH="decoder", DECODER_TIME="0"))
    assert line == "FRESH names decoder, whose time is 0: give it a budget or leave it out of FRESH"


def test_a_decoder_too_wide_for_the_bundle_is_refused_before_training(tmp_path):
    line = refused(tmp_path, retrain(tmp_path, "decoder.channels=96", FRESH="decoder"))
    assert "over the 64 MiB bundled: choose a narrower decoder" in line
    assert "(decoder 33.1)" in line  # 17.3 M parameters in fp16


def test_reshaping_a_stage_that_continues_its_bundled_weights_is_refused(tmp_path):
    line = refused(tmp_path, retrain(tmp_path, "decoder.channels=80"))
    assert line.startswith("the overrides reshape decoder (") and "FRESH=decoder" in line


def test_with_no_time_for_either_stage_the_bundled_model_is_assembled_unchanged(tmp_path):
    result = retrain(tmp_path, DECODER_TIME="0", UPSAMPLER_TIME="0")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert not (tmp_path / "runs" / "decoder.log").exists()  # nothing was trained
    model = Pipeline.from_pretrained(tmp_path / "out" / "unclip-emoji")
    bundled = Pipeline.from_pretrained("unclip-emoji")
    for stem, module in bundled.modules().items():
        for key, value in module.state_dict().items():
            assert torch.equal(model.modules()[stem].state_dict()[key], value), f"{stem}.{key}"


@pytest.mark.slow
@needs_font
def test_a_fresh_decoder_of_another_size_is_trained_and_assembled_with_the_bundled_stages(tmp_path):
    result = retrain(
        tmp_path, "trainer.accelerator=cpu", "trainer.precision=32-true", "data.limit=48", "data.num_workers=0",
        "decoder.channels=32", "decoder.prediction=v",
        FRESH="decoder", BATCH="4", DECODER_TIME="00:00:00:05", UPSAMPLER_TIME="00:00:00:05",
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]

    model = Pipeline.from_pretrained(tmp_path / "out" / "unclip-emoji")
    bundled = Pipeline.from_pretrained("unclip-emoji")
    assert model.graph.decoder.config.channels == 32 and model.graph.decoder.config.prediction == "v"
    # The decoder is the one just trained; CLIP and the prior are the bundled ones; the upsampler
    # continued the bundled one (its run's export, saved in fp16).
    runs = tmp_path / "runs"
    for stem, folder in (("decoder", runs / "decoder"), ("upsampler_0", runs / "upsampler")):
        trained = load_file(folder / "pipeline" / f"{stem}.safetensors")
        assembled = model.modules()[stem].state_dict()
        assert trained.keys() == assembled.keys()
        for key, value in trained.items():
            assert torch.equal(assembled[key], value.half().to(assembled[key].dtype)), f"{stem}.{key}"
    for stem in ("encoder", "prior"):
        for key, value in bundled.modules()[stem].state_dict().items():
            assert torch.equal(model.modules()[stem].state_dict()[key], value), f"{stem}.{key}"
    upsampled = bundled.modules()["upsampler_0"].state_dict()
    assert any(not torch.equal(model.modules()["upsampler_0"].state_dict()[k], v) for k, v in upsampled.items())
