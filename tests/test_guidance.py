"""Classifier-free guidance math: chains of conditionings, the guidance interval and dynamic thresholding."""

from __future__ import annotations

import torch

from unclip_core.diffusion import GaussianDiffusion, chained_guidance, dynamic_threshold, guided_denoiser


def offset_model(x, t, c):
    """x0 = x + the row's conditioning offset: the conditional and unconditional passes differ by a known amount."""
    return x + c["offset"].view(-1, 1, 1, 1)


COND, UNCOND = {"offset": torch.ones(4)}, {"offset": torch.zeros(4)}


def test_only_steps_inside_the_interval_are_guided():
    denoise = guided_denoiser(offset_model, COND, UNCOND, scale=3.0, interval=(100, 500))
    x, t = torch.zeros(4, 3, 2, 2), torch.tensor([99, 100, 500, 501])
    out = denoise(x, t)[:, 0, 0, 0]
    torch.testing.assert_close(out, torch.tensor([1.0, 3.0, 3.0, 1.0]))  # outside: the conditional pass (scale 1)


def test_interval_in_fractions_of_the_schedule_and_the_whole_schedule_is_plain_guidance():
    diffusion = GaussianDiffusion.make("cosine", 1001, "eps")

    def network(x, t, c):  # an eps network whose output is the offset: x0 = (x - sigma * eps) / alpha
        return c["offset"].view(-1, 1, 1, 1).expand_as(x)

    x, t = torch.randn(4, 3, 2, 2, generator=torch.Generator().manual_seed(0)), torch.tensor([0, 300, 600, 1000])
    every = diffusion.denoiser(network, COND, UNCOND, 3.0, interval=(0.0, 1.0))(x, t)
    torch.testing.assert_close(every, diffusion.denoiser(network, COND, UNCOND, 3.0)(x, t))
    middle = diffusion.denoiser(network, COND, UNCOND, 3.0, interval=(0.25, 0.75))(x, t)
    unguided = diffusion.denoiser(network, COND)(x, t)
    torch.testing.assert_close(middle[[0, 3]], unguided[[0, 3]])  # timesteps 0 and 1000 lie outside 250..750
    torch.testing.assert_close(middle[[1, 2]], every[[1, 2]])


def test_dynamic_threshold_leaves_images_in_range_and_scales_back_the_others():
    inside = torch.rand(2, 3, 4, 4) * 2 - 1
    torch.testing.assert_close(dynamic_threshold(inside, 0.995), inside)
    wide = torch.cat([inside[:1], inside[1:] * 3])  # the second image overshoots to about +-3
    out = dynamic_threshold(wide, 1.0)
    torch.testing.assert_close(out[0], inside[0])  # per image: the first is not touched
    torch.testing.assert_close(out[1], inside[1] / inside[1].abs().max())  # divided by its own extreme
    assert out.abs().max() <= 1.0


def test_dynamic_threshold_clips_the_outliers_past_its_percentile():
    x0 = torch.full((1, 1, 10, 10), 0.5)
    x0[0, 0, 0, 0] = 40.0  # one wild pixel: the 0.9 percentile stays at 0.5, so s is 1 and it is clipped
    out = dynamic_threshold(x0, 0.9)
    assert out[0, 0, 0, 0] == 1.0
    assert torch.all(out.flatten()[1:] == 0.5)


def test_a_chain_gives_each_added_condition_its_own_scale_and_equal_scales_are_plain_guidance():
    middle = {"offset": torch.full((4,), 0.25)}
    x, t = torch.zeros(4, 3, 2, 2), torch.full((4,), 500)
    chained = chained_guidance(offset_model, [UNCOND, middle, COND], [2.0, 3.0])(x, t)
    torch.testing.assert_close(chained[:, 0, 0, 0], torch.full((4,), 2.0 * 0.25 + 3.0 * 0.75))
    same = chained_guidance(offset_model, [UNCOND, middle, COND], [4.0, 4.0])(x, t)
    torch.testing.assert_close(same, guided_denoiser(offset_model, COND, UNCOND, 4.0)(x, t))


def test_a_chain_runs_every_pass_in_one_call():
    calls = []

    def counting(x, t, c):
        calls.append(x.shape[0])
        return offset_model(x, t, c)

    chained_guidance(counting, [UNCOND, {"offset": torch.zeros(4)}, COND], [2.0, 3.0])(torch.zeros(4, 3, 2, 2), torch.zeros(4))
    assert calls == [12]
