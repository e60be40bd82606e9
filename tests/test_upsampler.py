"""The UNet upsampler: contract, degradations, and a trained stage beating bicubic upsampling."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from .blobs import BlobSource, blob_images

from unclip_core.errors import ConfigError, InputError
from unclip_core.graph import graph_from_dict
from unclip_core.images import resize
from unclip_core.pipeline import Pipeline
from unclip_core.testing import UpsamplerContract, build_component
from unclip_core.training.data import PairDataModule
from unclip_core.training.upsampler import train_upsampler
from unclip_plugins.unet.degradations import BSRConfig, bsr, gaussian_blur, random_jpeg

UPSAMPLER = {
    "type": "unet_upsampler", "from_size": 8, "to_size": 16, "channels": 16, "channel_mults": [1, 2],
    "num_res_blocks": 1, "prediction": "v", "degradation": "none", "sampler": {"type": "ddim", "steps": 10},
}



class TestUNetUpsamplerContract(UpsamplerContract):
    upsampler_section = {**UPSAMPLER, "channels": 8, "sampler": {"type": "ddim", "steps": 3}}


class TestMinSNRUpsamplerContract(UpsamplerContract):
    upsampler_section = {**TestUNetUpsamplerContract.upsampler_section, "min_snr_gamma": 5.0}


class TestAugmentedBSRUpsamplerContract(UpsamplerContract):
    """Also resamples between levels with residual blocks (GLIDE's resblock_updown)."""

    upsampler_section = {
        **UPSAMPLER, "channels": 8, "degradation": "bsr", "noise_level_max": 0.3, "sample_noise_level": 0.1,
        "attention_resolutions": [8], "resblock_updown": True, "sampler": {"type": "ddim", "steps": 3},
    }


def psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    """Mean per-image PSNR for images in [-1, 1] (peak-to-peak 2)."""
    return (10 * torch.log10(4 / ((a - b) ** 2).mean((1, 2, 3)))).mean().item()


# Both train an upsampler for about a minute: slow checks (the default suite keeps to 15 minutes on 2 cores).
@pytest.mark.slow
@pytest.mark.parametrize("crop, batch", [(None, 32), (8, 128)], ids=["whole", "quarter_crops"])
def test_trained_upsampler_beats_bicubic_on_held_out_images(tmp_path, crop, batch):
    """Also when it trains on random 8x8 crops (the paper's quarter of the area), four times as
    many per step (the same pixels), and samples whole 16x16 images."""
    graph = graph_from_dict({
        "encoder": {"type": "open_clip", "model": "unclip-tiny"},
        "upsamplers": [{**UPSAMPLER, "train_crop": crop}],
        "trainer": {"max_steps": 500, "accelerator": "cpu", "precision": "32-true", "logger": False,
                    "enable_progress_bar": False, "enable_model_summary": False, "limit_val_batches": 0,
                    "gradient_clip_val": 1.0},
        "train": {"upsampler": {"lr": 3e-3, "warmup_steps": 10, "ema_decay": 0.95, "weight_decay": 0.0}},
        "run_dir": str(tmp_path),
    })
    folder = train_upsampler(graph, data=PairDataModule(BlobSource(256, 16, batch_size=batch)))
    assert (tmp_path / "upsampler_0" / "checkpoints" / "last.ckpt").is_file()
    upsampler = Pipeline.from_pretrained(folder).components.upsamplers[0]
    images, _ = blob_images(64, 16, seed=123)  # never seen in training
    low = upsampler.downsample(images)
    bicubic = F.interpolate(low, size=(16, 16), mode="bicubic", align_corners=False).clamp(-1, 1)
    model = upsampler.sample(low, generator=torch.Generator().manual_seed(0))
    ours, baseline = psnr(model, images), psnr(bicubic, images)
    print(f"upsampling 8->16 PSNR (train_crop {crop}): model {ours:.2f} dB, bicubic {baseline:.2f} dB")
    assert ours > baseline + 1.0


def test_training_a_missing_stage_is_a_config_error(tmp_path):
    graph = graph_from_dict({"encoder": {"type": "open_clip", "model": "unclip-tiny"}, "upsamplers": [UPSAMPLER]})
    with pytest.raises(ConfigError, match="stage 3 does not exist"):
        train_upsampler(graph, 3)


def test_gaussian_blur_uses_each_images_own_sigma():
    x = torch.zeros(3, 3, 15, 15)
    x[..., 7, 7] = 1.0  # a point: the blur returns the kernel
    out = gaussian_blur(x, torch.tensor([0.0, 0.5, 1.5]))
    assert torch.allclose(out[0], x[0], atol=1e-6)  # sigma 0 keeps the image
    assert out[1, :, 7, 7].min() > out[2, :, 7, 7].max()  # wider blur spreads the point further
    torch.testing.assert_close(out.sum((2, 3)), x.sum((2, 3)))  # and keeps its total


def test_bsr_degrades_reproducibly_within_range():
    images, _ = blob_images(8, 16, seed=5)
    first = bsr(images, BSRConfig(), torch.Generator().manual_seed(0))
    again = bsr(images, BSRConfig(), torch.Generator().manual_seed(0))
    assert torch.equal(first, again)
    assert first.shape == images.shape and first.min() >= -1 and first.max() <= 1
    assert ((first - images) ** 2).mean() > 1e-4
    assert not torch.equal(first, bsr(images, BSRConfig(), torch.Generator().manual_seed(1)))


def test_jpeg_loses_more_at_low_quality():
    images, _ = blob_images(4, 16, seed=2)
    low = ((random_jpeg(images, (10, 10)) - images) ** 2).mean()
    high = ((random_jpeg(images, (95, 95)) - images) ** 2).mean()
    assert low > high


def test_noise_augmentation_level_must_be_trained_for():
    with pytest.raises(ConfigError, match="noise_level_max"):
        build_component("upsampler", {**UPSAMPLER, "sample_noise_level": 0.1})
    with pytest.raises(ConfigError, match="to_size"):
        build_component("upsampler", {**UPSAMPLER, "to_size": 8})


def test_random_crops_take_one_window_per_image_from_every_tensor():
    from unclip_plugins.unet.upsampler import random_crops

    images = torch.randn(64, 3, 16, 16)
    cond = images * 2 + 1
    a, b = random_crops((images, cond), 8, torch.Generator().manual_seed(0))
    assert a.shape == b.shape == (64, 3, 8, 8) and torch.equal(b, a * 2 + 1)
    windows = set()
    for i in range(64):
        found = [(r, c) for r in range(9) for c in range(9) if torch.equal(a[i], images[i, :, r : r + 8, c : c + 8])]
        assert len(found) == 1
        windows.add(found[0])
    assert len(windows) > 32  # each image draws its own window


def test_train_crop_must_fit_a_convolutional_unet():
    with pytest.raises(ConfigError, match="smaller than to_size"):
        build_component("upsampler", {**UPSAMPLER, "train_crop": 16})
    with pytest.raises(ConfigError, match="attention_resolutions"):
        build_component("upsampler", {**UPSAMPLER, "train_crop": 8, "attention_resolutions": [8]})
    with pytest.raises(ConfigError, match="multiple of 2"):
        build_component("upsampler", {**UPSAMPLER, "train_crop": 9})


def test_cascade_sizes_must_chain():
    with pytest.raises(ConfigError, match="from_size=16"):
        graph_from_dict({
            "encoder": {"type": "open_clip", "model": "unclip-tiny"},
            "decoder": {"type": "unet_decoder", "image_size": 16, "sampler": {"type": "ddim"}},
            "upsamplers": [UPSAMPLER],
        })


def test_start_level_begins_from_the_noised_upscale():
    """Started just above the clean end, one step returns (nearly) the upscaled input; started
    from pure noise, the same random network and noise return something else."""
    torch.manual_seed(0)
    low, _ = blob_images(4, 8, seed=3)
    noise = torch.randn(4, 3, 16, 16)
    one_step = {**UPSAMPLER, "sampler": {"type": "ddim", "steps": 1}}
    from_noise = build_component("upsampler", one_step)
    from_input = build_component("upsampler", {**one_step, "start_level": 0.001})  # timestep 1 of 1000
    from_input.load_state_dict(from_noise.state_dict())
    upscaled = resize(low, 16)
    assert (from_input.sample(low, noise=noise) - upscaled).abs().max() < 0.05
    assert (from_noise.sample(low, noise=noise) - upscaled).abs().mean() > 0.2


def test_start_level_must_leave_a_timestep_per_step():
    low, _ = blob_images(2, 8, seed=3)
    with pytest.raises(ConfigError, match="upsampler: upsampler start_level 0.004 leaves 5 timesteps for 10 sampler steps"):
        build_component("upsampler", {**UPSAMPLER, "start_level": 0.004, "sampler": {"type": "ddim", "steps": 10}})
    upsampler = build_component("upsampler", {**UPSAMPLER, "start_level": 0.004, "sampler": {"type": "ddim", "steps": 5}})
    ten_steps = build_component("sampler", {"type": "ddim", "steps": 10})
    with pytest.raises(InputError, match="start_level 0.004 leaves 5 timesteps for 10 sampler steps"):
        upsampler.sample(low, sampler=ten_steps)
