"""Timestep spacings: which timesteps each visits, and that every sampler converges on each."""

import math

import pytest
import torch

from unclip_core.diffusion import SPACINGS, NoiseSchedule, spaced_timesteps
from unclip_core.testing import build_component, gaussian_denoiser

MEAN, STD = 0.3, 0.5


@pytest.mark.parametrize("kind", ["linear", "cosine"])
@pytest.mark.parametrize("spacing", SPACINGS)
@pytest.mark.parametrize("steps", [1, 2, 5, 37, 200, 1000])
def test_spacings_visit_distinct_descending_timesteps(kind, spacing, steps):
    timesteps = spaced_timesteps(NoiseSchedule.make(kind, 1000), steps, spacing)
    assert timesteps.dtype == torch.long and len(timesteps) == steps
    assert bool((timesteps[:-1] > timesteps[1:]).all())
    assert 0 <= int(timesteps.min()) and int(timesteps.max()) <= 999


def test_spacings_where_they_start_and_end():
    schedule = NoiseSchedule.make("linear", 1000)
    assert spaced_timesteps(schedule, 5, "linspace").tolist() == [999, 749, 500, 250, 0]
    assert spaced_timesteps(schedule, 5, "leading").tolist() == [800, 600, 400, 200, 0]
    assert spaced_timesteps(schedule, 5, "trailing").tolist() == [999, 799, 599, 399, 199]
    for spacing in ("karras", "log_snr"):
        timesteps = spaced_timesteps(schedule, 5, spacing)
        assert timesteps[0] == 999 and timesteps[-1] == 0


def test_log_snr_spacing_is_even_in_log_snr():
    schedule = NoiseSchedule.make("linear", 1000)
    abar = schedule.alphas_cumprod[spaced_timesteps(schedule, 12, "log_snr")]
    gaps = ((abar / (1 - abar)).log() / 2).diff()
    # Rounding to training timesteps moves each a little; the clean end's timesteps lie
    # furthest apart in lambda (0.4 between t=0 and t=1), so the last gaps vary most.
    assert (gaps - gaps.mean()).abs().max() < 0.1 * gaps.mean().abs()


def test_karras_spacing_crowds_low_noise():
    schedule = NoiseSchedule.make("linear", 1000)
    karras, linspace = spaced_timesteps(schedule, 20, "karras"), spaced_timesteps(schedule, 20, "linspace")
    assert (karras < 100).sum() > (linspace < 100).sum()


def test_unknown_spacing_is_a_clear_error():
    with pytest.raises(ValueError, match="log_snr"):
        spaced_timesteps(NoiseSchedule.make("linear", 100), 5, "uniform")


def exact_solution(x_T, schedule):
    """The probability-flow ODE keeps (x_t - alpha mean) / sqrt(alpha^2 std^2 + sigma^2) fixed."""
    t = torch.full((x_T.shape[0],), schedule.num_timesteps - 1)
    alpha, sigma = schedule.alpha(t, x_T), schedule.sigma(t, x_T)
    return MEAN + STD * (x_T - alpha * MEAN) / (alpha**2 * STD**2 + sigma**2).sqrt()


def observed_order(sampler_type: str, spacing: str) -> tuple[float, float]:
    """log2 of the error's fall per halving of the step, from 25 to 200 evaluations; and the error at 200."""
    schedule = NoiseSchedule.make("linear", 1000)
    denoise = gaussian_denoiser(schedule, MEAN, STD)
    x_T = torch.randn(64, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    exact = exact_solution(x_T, schedule)

    def error(steps: int) -> float:
        sampler = build_component("sampler", {"type": sampler_type, "steps": steps, "spacing": spacing})
        return (sampler.sample(denoise, x_T, schedule) - exact).abs().mean().item()

    coarse, fine = error(25), error(200)
    return math.log2(coarse / fine) / 3, fine


@pytest.mark.parametrize("spacing", SPACINGS)
def test_ddim_converges_at_first_order(spacing):
    order, error = observed_order("ddim", spacing)
    assert 0.85 < order < 1.3, order
    assert error < 0.01


@pytest.mark.parametrize("spacing", SPACINGS)
def test_dpmpp_2m_converges_at_second_order(spacing):
    order, error = observed_order("dpmpp_2m", spacing)
    # karras and log_snr are second order from end to end. The others carry a first-order
    # error at one end (leading starts below the last timestep, trailing stops above 0, and a
    # long final step into 0 is first order), small enough that the fall is still near 2.
    assert order > (1.8 if spacing in ("karras", "log_snr") else 1.5), order
    assert error < 5e-4


def test_a_schedules_head_keeps_its_noise_levels_and_starts_lower():
    schedule = NoiseSchedule.make("cosine", 1000)
    head = schedule.head(200)
    assert head.num_timesteps == 200
    assert torch.equal(head.alphas_cumprod, schedule.alphas_cumprod[:200])
    assert head.spaced(4, spacing="trailing").tolist() == [199, 149, 99, 49]
    with pytest.raises(ValueError, match="no head of 1001"):
        schedule.head(1001)
