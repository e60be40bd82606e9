"""Generation from the bundled model: the CLI, seeds, and batching of prompts x num_images."""

import pytest
import torch
from PIL import Image

from unclip_core.cli import main
from unclip_core.pipeline import Pipeline

# Few steps: these tests check plumbing, not image quality.
FAST = {"prior_steps": 2, "decoder_steps": 3, "upsampler_steps": 2}
FAST_CLI = ["--prior-steps", "2", "--decoder-steps", "3", "--upsampler-steps", "2", "--no-progress", "--device", "cpu"]


@pytest.fixture(scope="module")
def pipe():
    return Pipeline.from_pretrained()


def test_cli_grid_and_separate_files_same_seed_same_images(tmp_path):
    grid_path = tmp_path / "heart.png"
    assert main(["generate", "red heart", "-n", "2", "--seed", "0", "-o", str(grid_path), *FAST_CLI]) == 0
    sheet = Image.open(grid_path)
    assert sheet.size == (2 * 64 + 2, 64)  # two 64px images side by side, 2px apart
    assert not list(tmp_path.glob(".*"))  # no temporary file left behind

    assert main(["generate", "red heart", "-n", "2", "--seed", "0", "--separate", "-o", str(tmp_path / "a.png"), *FAST_CLI]) == 0
    first, second = Image.open(tmp_path / "a_0.png"), Image.open(tmp_path / "a_1.png")
    assert first.size == second.size == (64, 64)
    assert first.tobytes() != second.tobytes()  # two draws of one prompt differ
    # A second run with the same seed draws the same images: the grid holds exactly these two.
    assert sheet.crop((0, 0, 64, 64)).tobytes() == first.convert("RGB").tobytes()
    assert sheet.crop((66, 0, 130, 64)).tobytes() == second.convert("RGB").tobytes()


def test_cli_errors_are_one_line_with_exit_2(tmp_path, capsys):
    assert main(["generate", "red heart", "--model", str(tmp_path / "nowhere"), "-o", str(tmp_path / "x.png")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and "\n" not in err and "nowhere" in err


def test_same_seed_same_images_different_seed_different_images(pipe):
    a = pipe("grinning face", seed=1, progress=False, **FAST)[0]
    b = pipe("grinning face", seed=1, progress=False, **FAST)[0]
    c = pipe("grinning face", seed=2, progress=False, **FAST)[0]
    assert a.tobytes() == b.tobytes()
    assert a.tobytes() != c.tobytes()


def test_call_batches_prompts_times_num_images_in_one_pass(pipe):
    calls = []
    decoder = pipe.components.decoder
    original = decoder.sample
    decoder.sample = lambda z_i, text, **kw: calls.append(len(z_i)) or original(z_i, text, **kw)
    try:
        images = pipe(["red heart", "thumbs up", "pizza"], num_images=2, seed=0, progress=False, **FAST)
    finally:
        del decoder.sample
    assert len(images) == 6 and calls == [6]
    assert all(image.size == (64, 64) for image in images)


def test_step_overrides_apply_to_one_call_only(pipe):
    decoder = pipe.components.decoder
    before, evaluations = decoder.sampler, []
    original = decoder.denoiser

    def counting(*args, **kwargs):
        denoise = original(*args, **kwargs)
        return lambda x, t: evaluations.append(1) or denoise(x, t)

    decoder.denoiser = counting
    try:
        pipe.generate(["pizza"], **FAST)
    finally:
        del decoder.denoiser
    assert len(evaluations) == FAST["decoder_steps"]
    assert decoder.sampler is before and before.steps == pipe.graph.decoder.nested["sampler"].config.steps
    with pytest.raises(Exception, match="at least 1"):
        pipe.generate(["pizza"], decoder_steps=0)


def test_generate_stays_in_range_and_float(pipe):
    images = pipe.generate(["red heart"], generator=torch.Generator().manual_seed(0), **FAST)
    assert images.dtype == torch.float32 and images.shape == (1, 3, 64, 64)
    assert images.min() >= -1 and images.max() <= 1
