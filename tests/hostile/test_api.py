"""Hostile inputs through the Python API: constructors, generate's numbers, the sampling budget
and its chunks, non-finite samples and weights, long prompts, output paths and masks."""

from __future__ import annotations

import logging
import math

import pytest
import torch
from PIL import Image
from safetensors.torch import save_file

from unclip_core.budget import check_budget, chunk_images, max_pixels
from unclip_core.errors import ConfigError, InputError, NumericalError, WeightsError
from unclip_core.graph import load_graph
from unclip_core.image_output import check_outputs
from unclip_core.pipeline import Pipeline
from unclip_core.weights import load_module, state_tensors
from unclip_plugins.editing.inputs import check_canvas, open_mask

from ..conftest import ROOT

ONE_STEP = {"prior_steps": 1, "decoder_steps": 1, "upsampler_steps": 1}


@pytest.fixture
def pipe() -> Pipeline:
    """The tiny graph, untrained: enough to check what generate accepts and what it returns."""
    return Pipeline.from_graph(load_graph(ROOT / "configs" / "tiny.yaml", check_trainer=False))


# ---- construction ---------------------------------------------------------------------------
@pytest.mark.parametrize("arguments", [(None, None), ("configs/tiny.yaml", None), ({}, [])])
def test_pipeline_constructor_says_what_it_takes(arguments):
    with pytest.raises(InputError, match=r"takes a validated Graph and its built Components, got .*from_pretrained"):
        Pipeline(*arguments)


def test_from_graph_and_from_pretrained_refuse_wrong_types():
    with pytest.raises(InputError, match="from_graph takes a Graph, got dict"):
        Pipeline.from_graph({"encoder": {"type": "open_clip"}})
    with pytest.raises(InputError, match="a string or a Path"):
        Pipeline.from_pretrained(42)


# ---- numbers --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"decoder_guidance": math.nan}, "decoder_guidance must be a finite number of at least 0 and at most 100, got nan"),
        ({"prior_guidance": math.inf}, "prior_guidance must be a finite number"),
        ({"prior_guidance": -0.5}, "got -0.5"),
        ({"decoder_guidance": "3"}, "got '3'"),
        ({"num_images": 0}, "num_images must be a whole number of at least 1, got 0"),
        ({"num_images": 2.0}, "got 2.0"),
        ({"num_images": True}, "got True"),
        ({"decoder_steps": 0}, "decoder steps must be a whole number of at least 1 and at most 10000"),
        ({"prior_steps": 10**6}, "prior steps must be"),
        ({"upsampler_steps": 1.5}, "upsampler 0 steps must be"),
        ({"seed": -1}, "seed must be a whole number of at least 0 and at most 2^64-1"),
        ({"seed": 2**64}, "seed must be"),
        ({"budget": 0}, "max_pixels must be a whole number of at least 1"),
    ],
)
def test_call_refuses_numbers_out_of_range(pipe, options, message):
    with pytest.raises(InputError, match=message.replace("^", r"\^").replace("(", r"\(")):
        pipe("a red circle", progress=False, **options)


@pytest.mark.parametrize("prompts", [[], [1, 2], None, [b"bytes"]])
def test_generate_refuses_what_is_not_prompts(pipe, prompts):
    with pytest.raises(InputError, match="prompt"):
        pipe.generate(prompts)


# ---- the sampling budget and chunks ---------------------------------------------------------
def test_a_request_over_the_budget_is_refused_with_the_estimate_before_sampling(pipe):
    calls = []
    pipe.components.prior.sample = lambda *a, **k: calls.append(1)  # must never be reached
    with pytest.raises(InputError, match=r"1 prompt x 100000 images of 64x64 is 409,600,000 pixels \(4.9 GB of output\)"):
        pipe.generate("x", num_images=100_000)
    with pytest.raises(InputError, match=r"2 prompts x 3 images .* budget of 20,000 pixels \(4 such images\)"):
        pipe.generate(["x", "y"], num_images=3, budget=20_000)
    assert calls == []


def test_the_budget_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv("UNCLIP_MAX_PIXELS", "1234")
    assert max_pixels() == 1234 and max_pixels(99) == 99
    monkeypatch.setenv("UNCLIP_MAX_PIXELS", "-1")
    with pytest.raises(ConfigError, match="UNCLIP_MAX_PIXELS='-1' must be a whole number of pixels of at least 1"):
        max_pixels()
    check_budget(2, 2, 10, 400)  # exactly at the limit passes


def test_sampling_runs_in_chunks_bounded_by_the_chunk_budget(pipe, monkeypatch):
    monkeypatch.setenv("UNCLIP_CHUNK_PIXELS", str(2 * 64 * 64))  # two 64px images per chunk
    assert chunk_images(64) == 2
    sizes = []
    decoder = pipe.components.decoder
    original = decoder.sample
    decoder.sample = lambda z_i, text, **kw: sizes.append(len(z_i)) or original(z_i, text, **kw)
    images = pipe.generate(["a", "b"], num_images=2, generator=torch.Generator().manual_seed(0), **ONE_STEP)
    assert sizes == [2, 2] and images.shape == (4, 3, 64, 64)


# ---- non-finite values ----------------------------------------------------------------------
@pytest.mark.parametrize("stage", ["prior", "decoder"])
def test_a_non_finite_stage_output_is_an_error_naming_the_stage(pipe, stage):
    module = getattr(pipe.components, stage)
    with torch.no_grad():
        for parameter in module.parameters():
            parameter.fill_(math.nan)
    with pytest.raises(NumericalError, match=rf"^the {stage} produced [\d,]+ non-finite values"):
        pipe("a red circle", seed=0, progress=False, **ONE_STEP)


def test_saving_refuses_non_finite_weights_and_keeps_the_old_folder(pipe, tmp_path):
    folder = pipe.save_pretrained(tmp_path / "saved")
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    name, parameter = next(iter(pipe.components.decoder.named_parameters()))
    with torch.no_grad():
        parameter.view(-1)[0] = math.inf
    with pytest.raises(NumericalError, match=rf"the decoder was not saved: tensor '{name}' holds 1 non-finite values"):
        pipe.save_pretrained(folder)
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["saved"]  # no staging folder left behind


def test_loading_refuses_non_finite_weights_naming_the_tensor(pipe, tmp_path):
    tensors = state_tensors(pipe.components.prior)
    name = next(iter(tensors))
    tensors[name].view(-1)[0] = math.nan
    save_file(tensors, tmp_path / "prior.safetensors")
    with pytest.raises(NumericalError, match=rf"prior.safetensors: tensor '{name}' holds 1 non-finite values"):
        load_module(pipe.components.prior, tmp_path / "prior.safetensors")
    with pytest.raises(WeightsError):  # a file that is not safetensors stays a WeightsError
        (tmp_path / "junk.safetensors").write_bytes(b"junk")
        load_module(pipe.components.prior, tmp_path / "junk.safetensors")


# ---- prompts longer than the encoder's context ----------------------------------------------
def test_a_prompt_longer_than_the_context_gets_a_note(pipe, caplog):
    encoder = pipe.components.encoder
    length = encoder.spec.context_length
    with caplog.at_level(logging.INFO, logger="unclip"):
        short = encoder.tokenize(["a red circle"])
        assert not caplog.records
        tokens = encoder.tokenize(["a red circle", "circle " * 100])
    assert short.shape == (1, length) and tokens.shape == (2, length)
    assert f"1 prompt longer than the encoder's context of {length} tokens was cut" in caplog.text
    assert torch.equal(tokens[0], short[0])


# ---- output paths ---------------------------------------------------------------------------
def test_an_output_that_is_an_input_is_refused_unless_forced(tmp_path):
    source = tmp_path / "cat.png"
    Image.new("RGB", (4, 4)).save(source)
    alias = tmp_path / "sub" / ".." / "cat.png"
    (tmp_path / "sub").mkdir()
    with pytest.raises(InputError, match="is also an input .*pass --force to replace it"):
        check_outputs([alias], inputs=[str(source)])
    with pytest.raises(InputError, match="is also an input"):
        check_outputs([None, source], inputs=[Image.new("RGB", (1, 1)), (tmp_path / "a.png", source)])
    assert check_outputs([source], inputs=[source], force=True) == [source]


def test_outputs_must_differ_and_be_writable(tmp_path):
    with pytest.raises(InputError, match="are the same file; give each output its own name"):
        check_outputs([tmp_path / "a.png", tmp_path / "." / "a.png"])
    with pytest.raises(InputError, match="folder .*missing does not exist"):
        check_outputs([tmp_path / "out.png", tmp_path / "missing" / "a.gif"])
    assert check_outputs([tmp_path / "a.png", None, tmp_path / "a.gif"]) == [tmp_path / "a.png", tmp_path / "a.gif"]
    assert list(tmp_path.iterdir()) == []  # checking writes nothing


# ---- masks and canvases ---------------------------------------------------------------------
@pytest.mark.parametrize("level", [1, 100, 127, 128, 254])
def test_a_uniform_grey_mask_is_called_grey(level):
    with pytest.raises(InputError, match=rf"the mask is one uniform grey \(level {level} of 255\)"):
        open_mask(Image.new("L", (8, 8), level), (8, 8))


def test_an_outpaint_canvas_over_the_budget_is_refused_before_allocation(monkeypatch):
    check_canvas(64, 64, 8192)
    with pytest.raises(InputError, match=r"this 64x64 image is 200064x200064: 40,025,604,096 pixels, over the sampling budget"):
        check_canvas(64, 64, 200_064)
    monkeypatch.setenv("UNCLIP_MAX_PIXELS", str(100 * 100))
    with pytest.raises(InputError, match=r"4 padded canvases .*at most 50x50 each"):
        check_canvas(10, 10, 60, count=4)
