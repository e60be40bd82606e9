import pytest
import torch

from unclip_core.diffusion import NoiseSchedule
from unclip_core.testing import SamplerContract, build_component, gaussian_denoiser
from unclip_plugins.samplers.ddim import sample_ddim
from unclip_plugins.samplers.ddpm import sample_ddpm


class TestDDPM(SamplerContract):
    sampler_type = "ddpm"
    sampler_options = {"steps": 250}


class TestDDIMDeterministic(SamplerContract):
    sampler_type = "ddim"
    sampler_options = {"steps": 50, "eta": 0.0}


class TestDDIMStochastic(SamplerContract):
    sampler_type = "ddim"
    sampler_options = {"steps": 50, "eta": 1.0}


class TestDPMPP2M(SamplerContract):
    sampler_type = "dpmpp_2m"
    sampler_options = {"steps": 20}


def test_ddim_eta_zero_is_deterministic_whatever_the_generator():
    schedule = NoiseSchedule.make("cosine", 1000)
    denoise = gaussian_denoiser(schedule, 0.2, 0.4)
    noise = torch.randn(32, 6)
    a = sample_ddim(denoise, noise, schedule, steps=30, eta=0.0, generator=torch.Generator().manual_seed(1))
    b = sample_ddim(denoise, noise, schedule, steps=30, eta=0.0, generator=torch.Generator().manual_seed(2))
    assert torch.equal(a, b)


def test_ddim_inversion_round_trips():
    schedule = NoiseSchedule.make("cosine", 1000)
    denoise = gaussian_denoiser(schedule, 0.5, 0.3)
    data = 0.5 + 0.3 * torch.randn(256, 8, dtype=torch.float64, generator=torch.Generator().manual_seed(0))

    def round_trip_error(steps: int) -> tuple[float, torch.Tensor]:
        sampler = build_component("sampler", {"type": "ddim", "steps": steps})
        x_T = sampler.invert(denoise, data, schedule)
        return (sampler.sample(denoise, x_T, schedule) - data).abs().mean().item(), x_T

    error, x_T = round_trip_error(100)
    assert abs(x_T.std().item() - 1.0) < 0.05  # the inverted latent looks like unit noise
    assert error < 0.015  # data std is 0.3
    # The residual is discretization error: it shrinks in proportion to the step size.
    assert round_trip_error(400)[0] < error / 3


def test_ddpm_equals_ddim_with_eta_one():
    """Both draw from the same posterior q(x_s | x_t, x0): with equal noise they agree."""
    schedule = NoiseSchedule.make("linear", 1000)
    denoise = gaussian_denoiser(schedule, 0.1, 0.7)
    noise = torch.randn(64, 5, dtype=torch.float64)
    a = sample_ddpm(denoise, noise, schedule, steps=40, generator=torch.Generator().manual_seed(5))
    b = sample_ddim(denoise, noise, schedule, steps=40, spacing="linspace", eta=1.0, generator=torch.Generator().manual_seed(5))
    torch.testing.assert_close(a, b)


def test_dpmpp_2m_is_closer_than_ddim_at_few_steps():
    """A second-order solver tracks the ODE better than DDIM for the same budget."""
    schedule = NoiseSchedule.make("cosine", 1000)
    denoise = gaussian_denoiser(schedule, 0.5, 0.3)
    noise = torch.randn(512, 4, dtype=torch.float64)
    reference = sample_ddim(denoise, noise, schedule, steps=1000)
    ddim = sample_ddim(denoise, noise, schedule, steps=8)
    dpm = build_component("sampler", {"type": "dpmpp_2m", "steps": 8}).sample(denoise, noise, schedule)
    assert (dpm - reference).abs().mean() < (ddim - reference).abs().mean()


def test_non_inverting_sampler_says_which_to_use():
    sampler = build_component("sampler", {"type": "dpmpp_2m"})
    schedule = NoiseSchedule.make("cosine", 10)
    with pytest.raises(NotImplementedError, match="ddim"):
        sampler.invert(gaussian_denoiser(schedule, 0, 1), torch.zeros(1, 2), schedule)


def test_too_many_steps_is_a_clear_error():
    schedule = NoiseSchedule.make("cosine", 10)
    with pytest.raises(ValueError, match="only 10 timesteps"):
        sample_ddim(gaussian_denoiser(schedule, 0, 1), torch.zeros(1, 2), schedule, steps=11)
