import torch

from unclip_core.diffusion import NoiseSchedule
from unclip_core.testing import SamplerContract, build_component, gaussian_denoiser


class TestHeun(SamplerContract):
    sampler_type = "heun"
    sampler_options = {"steps": 20}


def test_heun_beats_euler_for_the_same_steps():
    schedule = NoiseSchedule.make("cosine", 1000)
    denoise = gaussian_denoiser(schedule, 0.5, 0.3)
    noise = torch.randn(512, 4, dtype=torch.float64)
    reference = build_component("sampler", {"type": "ddim", "steps": 1000}).sample(denoise, noise, schedule)
    euler = build_component("sampler", {"type": "ddim", "steps": 10}).sample(denoise, noise, schedule)
    heun = build_component("sampler", {"type": "heun", "steps": 10}).sample(denoise, noise, schedule)
    assert (heun - reference).abs().mean() < (euler - reference).abs().mean() / 2
