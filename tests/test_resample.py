"""RePaint resampling: the path it walks, and the `repaint` sampler against the contract."""

import pytest
import torch

from unclip_core.diffusion import NoiseSchedule, resampling_path, sampling_loop
from unclip_core.diffusion.resample import evaluations
from unclip_core.testing import SamplerContract, build_component, gaussian_denoiser
from unclip_plugins.samplers.ddim import ddim_step



def test_path_without_resampling_walks_straight_down():
    assert resampling_path(6, 1, 2) == [0, 1, 2, 3, 4, 5, 6]


def test_path_jumps_back_resample_minus_one_times_per_stretch():
    path = resampling_path(4, 2, 2)
    # Down to 2, back to 0, down to 2 again; down to 4 (data), back to 2, down to 4.
    assert path == [0, 1, 2, 0, 1, 2, 3, 4, 2, 3, 4]
    assert path[-1] == 4 and evaluations(4, 2, 2) == 4 + 2 * 2
    # Every move is one step down or one jump up.
    assert all(b - a in (1, -2) for a, b in zip(path, path[1:]))


@pytest.mark.parametrize("steps,resample,jump", [(10, 3, 5), (7, 4, 3), (5, 2, 1)])
def test_path_evaluation_count(steps, resample, jump):
    jump_points = len([p for p in range(jump, steps + 1) if (steps - p) % jump == 0])
    assert evaluations(steps, resample, jump) == steps + jump_points * (resample - 1) * jump


def test_without_resampling_it_is_the_plain_loop():
    schedule = NoiseSchedule.make("cosine", 1000)
    denoise = gaussian_denoiser(schedule, 0.3, 0.5)
    noise = torch.randn(8, 4, dtype=torch.float64)
    plain = sampling_loop(ddim_step(schedule, 0.0, None), denoise, noise, schedule, steps=20)
    sampler = build_component("sampler", {"type": "repaint", "steps": 20, "resample": 1, "eta": 0.0})
    torch.testing.assert_close(sampler.sample(denoise, noise, schedule), plain)


class TestRePaintPlain(SamplerContract):
    sampler_type = "repaint"
    sampler_options = {"steps": 50, "resample": 1}


class TestRePaintResampling(SamplerContract):
    sampler_type = "repaint"
    # DDPM-like steps need many steps to get the spread right; each jump adds their error again.
    sampler_options = {"steps": 100, "resample": 3, "jump": 5}


def test_resampling_harmonizes_a_correlated_region():
    """Data: two perfectly correlated halves. Keeping one half known, the generated half should
    match it; resampling gets closer than keeping the known half at each step alone."""
    schedule = NoiseSchedule.make("cosine", 1000)

    def denoise(x, t):  # exact posterior mean for x0 = (u, u), u ~ N(0, 1)
        alpha, sigma = schedule.alpha(t, x), schedule.sigma(t, x)
        u = alpha * x.sum(-1, keepdim=True) / (2 * alpha**2 + sigma**2)
        return u.expand_as(x)

    generator = torch.Generator().manual_seed(0)
    known = torch.randn(2000, 1, generator=generator).expand(2000, 2).contiguous()
    mask = torch.tensor([[1.0, 0.0]]).expand_as(known)

    def error(resample: int) -> float:
        sampler = build_component("sampler", {"type": "repaint", "steps": 20, "resample": resample, "jump": 4})
        g = torch.Generator().manual_seed(1)
        out = sampler.sample(denoise, torch.randn(known.shape, generator=g), schedule, generator=g, mask=mask, known=known)
        assert torch.equal(out[:, 1], known[:, 1])
        return (out[:, 0] - known[:, 1]).abs().mean().item()

    plain, resampled = error(1), error(5)
    assert resampled < 0.7 * plain, (plain, resampled)
