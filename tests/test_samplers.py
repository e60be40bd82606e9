import pytest
import torch

from unclip_core.diffusion import NoiseSchedule, ddim_invert
from unclip_core.errors import InputError
from unclip_core.testing import SamplerContract, build_component, gaussian_denoiser
from unclip_plugins.samplers.ddim import ddim_step, sample_ddim
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
    with pytest.raises(InputError, match="only 10 timesteps"):
        sample_ddim(gaussian_denoiser(schedule, 0, 1), torch.zeros(1, 2), schedule, steps=11)


def test_euler_ancestral_is_ddim_with_eta_one():
    """Euler ancestral (Karras et al.'s form: x / alpha with noise level sigma / alpha, an Euler
    step down to sigma_down, then fresh noise of std sigma_up) draws the same x_s as DDIM with
    eta=1 from the same noise, which is why it is not a separate sampler here."""
    schedule = NoiseSchedule.make("linear", 1000)
    denoise = gaussian_denoiser(schedule, 0.1, 0.7)
    x_t = torch.randn(64, 5, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    t, s = torch.full((64,), 700), torch.full((64,), 400)
    x0 = denoise(x_t, t)
    noise = torch.randn(64, 5, dtype=torch.float64, generator=torch.Generator().manual_seed(1))

    sigma_from = schedule.sigma(t, x_t) / schedule.alpha(t, x_t)
    sigma_to = schedule.sigma(s, x_t) / schedule.alpha(s, x_t)
    sigma_up = (sigma_to**2 * (sigma_from**2 - sigma_to**2) / sigma_from**2).sqrt()
    sigma_down = (sigma_to**2 - sigma_up**2).sqrt()
    scaled = x_t / schedule.alpha(t, x_t)
    euler = scaled + (sigma_down - sigma_from) * (scaled - x0) / sigma_from
    euler_ancestral = schedule.alpha(s, x_t) * (euler + sigma_up * noise)

    step = ddim_step(schedule, 1.0, None)
    with torch.random.fork_rng():  # ddim_step draws from the global generator when given none
        torch.manual_seed(1)
        ddim = step(None, x_t, x0, t, s, [])
    torch.testing.assert_close(ddim, euler_ancestral)


def test_ddim_invert_is_core_math_with_one_callback_per_evaluation():
    schedule = NoiseSchedule.make("cosine", 1000)
    denoise = gaussian_denoiser(schedule, 0.5, 0.3)
    data = 0.5 + 0.3 * torch.randn(64, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    seen: list[int] = []
    x_T = ddim_invert(denoise, data, schedule, steps=20, spacing="trailing", callback=lambda i, x, x0: seen.append(i))
    assert seen == list(range(19))  # one evaluation per interval between the 20 visited timesteps
    sampler = build_component("sampler", {"type": "ddim", "steps": 20, "spacing": "trailing"})
    torch.testing.assert_close(sampler.invert(denoise, data, schedule), x_T)


def test_a_sampler_rebuilt_with_other_steps_keeps_its_other_options():
    sampler = build_component("sampler", {"type": "dpmpp_2m", "steps": 10, "spacing": "log_snr"})
    rebuilt = type(sampler)(sampler.config.model_copy(update={"steps": 30}))
    assert rebuilt.steps == rebuilt.evaluations == 30 and rebuilt.config.spacing == "log_snr"
