"""The UNet decoder: contract, a real training run, and what the trained model must do."""

from __future__ import annotations

import pytest
import torch
from .blobs import BlobSource, blob_images

from unclip_core.commands.train import STAGES
from unclip_core.errors import ConfigError, InputError
from unclip_core.graph import graph_from_dict
from unclip_core.pipeline import Pipeline
from unclip_core.plugins import get_registry
from unclip_core.stage_options import component_for_call
from unclip_core.testing import DecoderContract, build_component
from unclip_core.training.data import PairDataModule
from unclip_core.training.decoder import train_decoder

SIZE, COUNT = 16, 32
DECODER = {
    "type": "unet_decoder", "image_size": SIZE, "channels": 16, "channel_mults": [1, 2], "num_res_blocks": 1,
    "attention_resolutions": [8], "head_channels": 16, "dropout": 0.0, "guidance_scale": 1.0,
    # v-prediction learns faster than eps on this small budget.
    "prediction": "v", "sampler": {"type": "ddim", "steps": 20},
}



class TestUNetDecoderContract(DecoderContract):
    decoder_section = {**DECODER, "image_size": 8, "channels": 8, "attention_resolutions": [4],
                       "sampler": {"type": "ddim", "steps": 3}}


class TestGLIDEOptionsDecoderContract(DecoderContract):
    """GLIDE's options: the decoder's own caption transformer, and residual resampling."""

    decoder_section = {**TestUNetDecoderContract.decoder_section, "caption_depth": 2, "caption_width": 16,
                       "caption_heads": 2, "resblock_updown": True}


class TestMinSNRDecoderContract(DecoderContract):
    """An eps decoder whose loss is weighted by min-SNR-gamma."""

    decoder_section = {**TestUNetDecoderContract.decoder_section, "prediction": "eps", "min_snr_gamma": 5.0}


def test_the_caption_transformer_reads_the_caption_and_a_dropped_caption_is_ignored():
    spec = DecoderContract.spec
    torch.manual_seed(0)
    decoder = build_component("decoder", TestGLIDEOptionsDecoderContract.decoder_section, spec=spec).eval()
    with torch.no_grad():  # zero-initialized output layers would hide every input: wake them all up
        for parameter in decoder.parameters():
            parameter.normal_(0, 0.3)
    z_i, text = DecoderContract().inputs()
    garbled = type(text)(text.embedding, torch.randn_like(text.tokens), text.mask)
    x, t = torch.randn(DecoderContract.batch, 3, 8, 8), torch.tensor([10, 500])

    def output(text, drop_text):
        with torch.no_grad():
            return decoder.network(x, t, decoder.conditioning(z_i, text, drop_text=drop_text))

    assert not torch.allclose(output(text, False), output(garbled, False), atol=1e-3)
    torch.testing.assert_close(output(text, True), output(garbled, True))


def training_graph(run_dir, steps: int = 300):
    return graph_from_dict({
        "encoder": {"type": "open_clip", "model": "unclip-tiny"},
        "decoder": DECODER,
        "trainer": {"max_steps": steps, "accelerator": "cpu", "precision": "32-true", "logger": False,
                    "enable_progress_bar": False, "enable_model_summary": False, "limit_val_batches": 0,
                    "gradient_clip_val": 1.0},
        "train": {"decoder": {"lr": 2e-3, "warmup_steps": 10, "ema_decay": 0.95, "weight_decay": 0.0}},
        "run_dir": str(run_dir),
    })


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A decoder trained for 300 steps on 32 blob images, loaded back from its pipeline folder."""
    graph = training_graph(tmp_path_factory.mktemp("decoder_run"))
    folder = train_decoder(graph, data=PairDataModule(BlobSource(COUNT, SIZE, batch_size=32)))
    pipeline = Pipeline.from_pretrained(folder)
    images, captions = blob_images(COUNT, SIZE, seed=0)  # the training images
    z_i = pipeline.encode_image(images)
    text = pipeline.encode_text(captions)
    return pipeline.components.decoder, images, z_i, text


def mse(a: torch.Tensor, b: torch.Tensor) -> float:
    return ((a - b) ** 2).mean().item()


def fixed_noise(batch: int, seed: int = 0) -> torch.Tensor:
    return torch.randn(batch, 3, SIZE, SIZE, generator=torch.Generator().manual_seed(seed))


def test_true_image_embedding_reconstructs_far_better_than_a_shuffled_one(trained):
    decoder, images, z_i, text = trained
    noise = fixed_noise(COUNT)
    true = mse(decoder.sample(z_i, text, noise=noise), images)
    shuffled = mse(decoder.sample(z_i.roll(1, 0), text, noise=noise), images)
    print(f"reconstruction MSE: true z_i {true:.4f}, shuffled z_i {shuffled:.4f}")
    assert true < 0.2
    assert true < 0.6 * shuffled


def test_guidance_scale_changes_samples_and_zero_is_the_unconditional_model(trained):
    decoder, images, z_i, text = trained
    z_i, text, noise = z_i[:8], text.index(slice(0, 8)), fixed_noise(8)
    plain = decoder.sample(z_i, text, noise=noise, guidance_scale=1.0)
    guided = decoder.sample(z_i, text, noise=noise, guidance_scale=3.0)
    assert mse(plain, guided) > 1e-3
    unguided = decoder.sample(z_i, text, noise=noise, guidance_scale=0.0)
    uncond = decoder.conditioning(z_i, text, drop_image=True, drop_text=True)
    reference = decoder.sampler.sample(decoder.diffusion.denoiser(decoder.network, uncond), noise.clone(), decoder.diffusion.schedule)
    torch.testing.assert_close(unguided, reference, atol=1e-4, rtol=0)


def test_from_the_caption_alone_z_i_is_ignored_and_guidance_is_on_the_caption(trained):
    """condition_on_image: false is GLIDE inside the decoder: the null z_i (what image_dropout
    trains) with the caption, guided against the unconditional model."""
    decoder, _, z_i, text = trained
    z_i, text, noise = z_i[:8], text.index(slice(0, 8)), fixed_noise(8)
    saved = decoder.config
    decoder.config = saved.model_copy(update={"condition_on_image": False})
    try:
        caption_only = decoder.sample(z_i, text, noise=noise, guidance_scale=3.0)
        other_z_i = decoder.sample(z_i.roll(1, 0), text, noise=noise, guidance_scale=3.0)
    finally:
        decoder.config = saved
    torch.testing.assert_close(caption_only, other_z_i)
    assert mse(caption_only, decoder.sample(z_i, text, noise=noise, guidance_scale=3.0)) > 1e-3
    cond = decoder.conditioning(z_i, text, drop_image=True)
    uncond = decoder.conditioning(z_i, text, drop_image=True, drop_text=True)
    glide = decoder.sampler.sample(decoder.diffusion.denoiser(decoder.network, cond, uncond, 3.0), noise.clone(), decoder.diffusion.schedule)
    torch.testing.assert_close(caption_only, glide, atol=1e-4, rtol=0)


def test_guidance_runs_both_passes_in_one_forward(trained):
    decoder, _, z_i, text = trained
    batches: list[int] = []
    hook = decoder.unet.register_forward_hook(lambda module, args, out: batches.append(args[0].shape[0]))
    try:
        decoder.sample(z_i[:4], text.index(slice(0, 4)), noise=fixed_noise(4), guidance_scale=3.0)
    finally:
        hook.remove()
    assert batches == [8] * decoder.sampler.steps


def test_inpainting_keeps_unmasked_pixels_with_every_sampler(trained):
    decoder, images, z_i, text = trained
    known, mask = images[:4], torch.zeros(4, 1, SIZE, SIZE)
    mask[..., SIZE // 4: 3 * SIZE // 4, SIZE // 4: 3 * SIZE // 4] = 1  # regenerate the center
    original = decoder.sampler
    try:
        for name in get_registry().names("sampler"):
            decoder.sampler = build_component("sampler", {"type": name, "steps": 10})
            out = decoder.sample(z_i[:4], text.index(slice(0, 4)), generator=torch.Generator().manual_seed(0),
                                 mask=mask, known=known)
            assert torch.equal(out * (1 - mask), known * (1 - mask)), name
            assert torch.isfinite(out).all() and out.abs().max() <= 1, name
    finally:
        decoder.sampler = original


def test_ddim_inversion_then_sampling_reconstructs_the_image(trained):
    decoder, images, z_i, text = trained
    x_T = decoder.invert(images[:16], z_i[:16], text.index(slice(0, 16)))
    back = decoder.sample(z_i[:16], text.index(slice(0, 16)), noise=x_T, guidance_scale=1.0)
    error = mse(back, images[:16])
    print(f"DDIM inversion round-trip MSE: {error:.5f}")
    assert error < 0.01
    assert x_T.std().item() > 0.5  # a noise-like latent, not the image itself


def test_inversion_falls_back_to_ddim_for_samplers_that_cannot_invert(trained):
    decoder, images, z_i, text = trained
    original = decoder.sampler
    try:
        decoder.sampler = build_component("sampler", {"type": "dpmpp_2m", "steps": 20})
        x_T = decoder.invert(images[:4], z_i[:4], text.index(slice(0, 4)))
    finally:
        decoder.sampler = original
    ddim = decoder.invert(images[:4], z_i[:4], text.index(slice(0, 4)))
    torch.testing.assert_close(x_T, ddim)


def test_wrong_noise_or_mask_shapes_are_input_errors(trained):
    decoder, images, z_i, text = trained
    with pytest.raises(InputError, match="noise has shape"):
        decoder.sample(z_i[:2], text.index(slice(0, 2)), noise=torch.randn(2, 3, 8, 8))
    with pytest.raises(InputError, match="both `mask`"):
        decoder.sample(z_i[:2], text.index(slice(0, 2)), mask=torch.ones(2, 1, SIZE, SIZE))


def test_layout_errors_name_the_fix():
    from unclip_core.errors import ConfigError

    spec = TestUNetDecoderContract.spec
    with pytest.raises(ConfigError, match="choose from"):
        build_component("decoder", {**DECODER, "attention_resolutions": [5]}, spec=spec)
    with pytest.raises(ConfigError, match="divisible by 4"):
        build_component("decoder", {**DECODER, "image_size": 18, "channel_mults": [1, 2, 2]}, spec=spec)
    with pytest.raises(ConfigError, match="trained with image_dropout 0 never learned; use a decoder trained with image_dropout > 0"):
        build_component("decoder", {**DECODER, "image_dropout": 0.0, "condition_on_image": False}, spec=spec)


def test_train_command_knows_the_decoder_and_upsampler_stages():
    assert STAGES["decoder"] == ("unclip_core.training.decoder", "train_decoder")
    assert STAGES["upsampler"] == ("unclip_core.training.upsampler", "train_upsampler")


def test_a_guidance_interval_guides_only_its_steps(trained):
    decoder, _, z_i, text = trained
    z_i, text, noise = z_i[:8], text.index(slice(0, 8)), fixed_noise(8)

    def sample(**settings):
        return component_for_call("decoder", decoder, settings).sample(z_i, text, noise=noise, guidance_scale=3.0)

    guided, plain = decoder.sample(z_i, text, noise=noise, guidance_scale=3.0), decoder.sample(z_i, text, noise=noise)
    torch.testing.assert_close(sample(guidance_interval=(0.0, 1.0)), guided)
    half = sample(guidance_interval=(0.0, 0.5))
    assert mse(half, guided) > 1e-5 and mse(half, plain) > 1e-5
    thresholded = sample(dynamic_threshold=0.9)
    assert thresholded.abs().max() <= 1.0
    assert mse(thresholded, guided) > 1e-5


def test_caption_guidance_apart_from_z_i(trained):
    """caption_guidance_scale splits guidance in two links, nothing -> z_i -> z_i and caption;
    equal scales are plain guidance, and the caption's own scale changes the samples."""
    decoder, _, z_i, text = trained
    z_i, text, noise = z_i[:8], text.index(slice(0, 8)), fixed_noise(8)

    def sample(caption_scale):
        with_scale = component_for_call("decoder", decoder, {"caption_guidance_scale": caption_scale})
        return with_scale.sample(z_i, text, noise=noise, guidance_scale=3.0)

    guided = decoder.sample(z_i, text, noise=noise, guidance_scale=3.0)
    torch.testing.assert_close(sample(3.0), guided, atol=1e-4, rtol=0)
    assert mse(sample(0.0), guided) > 1e-5
    image_only = decoder.conditioning(z_i, text, drop_text=True)
    uncond = decoder.conditioning(z_i, text, drop_image=True, drop_text=True)
    reference = decoder.sampler.sample(  # caption scale 0: guided toward z_i alone, the caption unheard
        decoder.diffusion.denoiser(decoder.network, image_only, uncond, 3.0), noise.clone(), decoder.diffusion.schedule
    )
    torch.testing.assert_close(sample(0.0), reference, atol=1e-4, rtol=0)


def test_caption_guidance_without_the_image_is_refused():
    with pytest.raises(ConfigError, match="caption_guidance_scale guides the caption on top of z_i, which condition_on_image: false leaves out"):
        build_component("decoder", {**TestUNetDecoderContract.decoder_section, "caption_guidance_scale": 2.0,
                                    "condition_on_image": False}, spec=DecoderContract.spec)


def test_a_guidance_interval_out_of_order_is_refused():
    with pytest.raises(ConfigError, match=r"guidance_interval must be \[low, high\] with 0 <= low <= high <= 1, got \[0.8, 0.2\]"):
        build_component("decoder", {**TestUNetDecoderContract.decoder_section, "guidance_interval": [0.8, 0.2]},
                        spec=DecoderContract.spec)
