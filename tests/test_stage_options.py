"""Per-call sampling options: nothing on the pipeline changes, so threads can share one."""

import subprocess
import sys
import threading

import pytest
import torch

from unclip_core.errors import ConfigError, InputError
from unclip_core.images import to_pil
from unclip_core.pipeline import Pipeline


@pytest.fixture(scope="module")
def pipe():
    return Pipeline.from_pretrained()


def run(pipe, steps: int, sampler: str | None = None) -> tuple[torch.Tensor, dict[str, int]]:
    counts: dict[str, int] = {}

    def count(stage, i, x_t, x0):
        counts[stage] = counts.get(stage, 0) + 1

    images = pipe.generate(
        ["red heart"], generator=torch.Generator().manual_seed(0), prior_steps=2, decoder_steps=steps,
        upsampler_steps=2, decoder_sampler=sampler, callback=count,
    )
    return images, counts


def test_two_threads_with_different_options_get_what_each_asked_for(pipe):
    alone = {steps: run(pipe, steps) for steps in (2, 5)}
    results: dict[int, tuple] = {}
    start = threading.Barrier(2)

    def worker(steps):
        start.wait()
        results[steps] = run(pipe, steps)

    threads = [threading.Thread(target=worker, args=(steps,)) for steps in (2, 5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for steps in (2, 5):
        images, counts = results[steps]
        assert counts == {"prior": 2, "decoder": steps, "upsampler 0": 2}
        torch.testing.assert_close(images, alone[steps][0])
    configured = pipe.components.decoder.sampler
    assert configured.steps == pipe.graph.decoder.nested["sampler"].config.steps  # untouched


def test_a_call_can_pick_another_sampler_by_name_and_keeps_its_steps(pipe):
    configured = pipe.components.decoder.sampler
    other = next(name for name in ("ddpm", "ddim") if name != configured.name)
    _, counts = run(pipe, 3, sampler=other)
    assert counts["decoder"] == 3
    assert pipe.components.decoder.sampler is configured


@pytest.mark.parametrize("options, message", [
    ({"decoder_steps": 0}, "decoder steps must be a whole number of at least 1"),
    ({"decoder_sampler": "no_such_sampler"}, "unknown sampler type 'no_such_sampler'"),
    ({"num_images": 0}, "num_images must be a whole number of at least 1"),
])
def test_bad_options_are_input_errors(pipe, options, message):
    with pytest.raises((InputError, ConfigError), match=message):
        pipe.generate(["red heart"], **options)


@pytest.mark.parametrize("options, message", [
    ({"upsampler_steps": 500}, "upsampler start_level 0.15 leaves 151 timesteps for 500 sampler steps; raise start_level"),
    ({"upsampler_steps": 3, "upsampler_options": {"start_level": 0.001}}, "start_level 0.001 leaves 2 timesteps for 3"),
    ({"decoder_steps": 1001}, "the decoder's sampler asks for 1001 steps but its schedule has only 1000 timesteps"),
    ({"prior_sampler": {"type": "ddim", "steps": 1001}}, "the prior's sampler asks for 1001 steps but prior.timesteps is 1000"),
])
def test_steps_a_stage_cannot_take_are_refused_before_any_stage_runs(pipe, options, message):
    evaluated = []
    with pytest.raises(InputError, match=message):
        pipe.generate(["red heart"], callback=lambda stage, *_: evaluated.append(stage), **options)
    assert evaluated == []


def test_an_edit_whose_upsampler_cannot_take_its_steps_is_refused_before_it_inverts():
    pipe = Pipeline.from_pretrained(overrides=["upsamplers.0.sampler.steps=3"])
    decoder_calls = []
    hooks = [m.register_forward_pre_hook(lambda *_: decoder_calls.append(1)) for m in pipe.components.decoder.modules()]
    image = torch.zeros(1, 3, 64, 64)
    with pytest.raises(InputError, match="start_level 0.001 leaves 2 timesteps for 3 sampler steps"):
        pipe.vary(to_pil(image)[0], n=1, upsampler_options={"start_level": 0.001})
    for hook in hooks:
        hook.remove()
    assert decoder_calls == []
    assert len(pipe.vary(to_pil(image)[0], n=1, ddim_steps=4, seed=0)) == 1  # the configured start_level leaves enough


def quick(pipe, **options) -> torch.Tensor:
    return pipe.generate(["red heart", "cat face"], generator=torch.Generator().manual_seed(0), prior_steps=2,
                         decoder_steps=3, upsampler_steps=1, **options)


def test_a_call_sets_sampling_settings_as_a_graph_override_would_and_changes_nothing(pipe):
    """decoder_options for one call draw what a pipeline loaded with the same overrides draws."""
    settings = {"condition_on_image": False, "guidance_interval": [0.2, 1.0]}
    overridden = Pipeline.from_pretrained(overrides=["decoder.condition_on_image=false", "decoder.guidance_interval=[0.2,1.0]"])
    torch.testing.assert_close(quick(pipe, decoder_options=settings), quick(overridden))
    assert not torch.allclose(quick(pipe, decoder_options=settings), quick(pipe))
    decoder = pipe.components.decoder
    assert decoder.config.condition_on_image and decoder.config == pipe.graph.decoder.config  # untouched
    torch.testing.assert_close(quick(pipe, prior_options={"samples_per_prompt": 1}),
                               quick(Pipeline.from_pretrained(overrides=["prior.samples_per_prompt=1"])))


def test_two_threads_with_different_settings_get_what_each_asked_for(pipe):
    choices = [{"condition_on_image": False}, {"guidance_scale": 1.0}]
    alone = [quick(pipe, decoder_options=c) for c in choices]
    results: dict[int, torch.Tensor] = {}
    start = threading.Barrier(2)

    def worker(i):
        start.wait()
        results[i] = quick(pipe, decoder_options=choices[i])

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for i in range(2):
        torch.testing.assert_close(results[i], alone[i])


@pytest.mark.parametrize("options, message", [
    ({"decoder_options": {"channels": 8}},
     "'channels' is not a sampling setting of the decoder (unet_decoder); its sampling settings: caption_guidance_scale, "),
    ({"upsampler_options": {"guidance_scale": 2}}, "'guidance_scale' is not a sampling setting of the upsamplers.0"),
    ({"decoder_options": {"guidance_interval": [0.9, 0.1]}}, "decoder: Value error, guidance_interval must be [low, high]"),
    ({"decoder_options": {"dynamic_threshold": float("nan")}}, "decoder.dynamic_threshold"),
    ({"prior_options": {"samples_per_prompt": 0}}, "prior.samples_per_prompt: Input should be greater than or equal to 1"),
    ({"prior_options": {"samples_per_prompt": 10**9}}, "prior.samples_per_prompt: Input should be less than or equal to 16"),
    ({"decoder_options": ["guidance_scale"]}, "decoder options must be a mapping of setting to value"),
])
def test_bad_sampling_settings_are_one_clear_error(pipe, options, message):
    with pytest.raises((InputError, ConfigError)) as caught:
        quick(pipe, **options)
    assert message in str(caught.value) and "\n" not in str(caught.value)


def test_with_options_shares_every_weight_and_records_its_settings(pipe, tmp_path):
    view = pipe.with_options(decoder={"guidance_scale": 1.5}, upsamplers={"start_level": 0.3})
    decoder, mine = view.components.decoder, pipe.components.decoder
    assert decoder is not mine and all(a is b for a, b in zip(decoder.parameters(), mine.parameters()))
    assert view.components.encoder is pipe.components.encoder
    assert decoder.config.guidance_scale == view.graph.decoder.config.guidance_scale == 1.5
    assert mine.config.guidance_scale == pipe.graph.decoder.config.guidance_scale != 1.5  # untouched
    assert pipe.with_options() is pipe
    saved = Pipeline.from_pretrained(view.save_pretrained(tmp_path / "view"))  # saving it saves its settings
    assert saved.components.decoder.config.guidance_scale == 1.5 and saved.components.upsamplers[0].config.start_level == 0.3
    asked = quick(pipe, decoder_options={"guidance_scale": 1.5}, upsampler_options={"start_level": 0.3})
    torch.testing.assert_close(quick(view), asked)


def test_settings_for_a_stage_the_pipeline_lacks_are_refused():
    from unclip_core.graph import graph_from_dict

    bare = Pipeline.from_graph(graph_from_dict({"encoder": {"type": "open_clip", "model": "unclip-tiny"}, "seed": 0}))
    for stage, message in (("prior", "has no prior"), ("decoder", "has no decoder"), ("upsamplers", "has no upsamplers")):
        with pytest.raises(InputError, match=message):
            bare.with_options(**{stage: {"guidance_scale": 2}})


def test_generating_never_imports_lightning(tmp_path):
    code = (
        "import sys\n"
        "from unclip_core.cli import main\n"
        f"assert main(['generate', 'red heart', '-o', r'{tmp_path / 'x.png'}', '--prior-steps', '2',"
        " '--decoder-steps', '2', '--upsampler-steps', '2', '--no-progress', '--device', 'cpu']) == 0\n"
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] in ('lightning', 'pytorch_lightning'))\n"
        "assert not loaded, loaded\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
    assert (tmp_path / "x.png").is_file()
