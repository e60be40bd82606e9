"""Min-SNR-gamma weighting: every prediction's weighted loss is min(SNR, gamma) times its x0 error."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from unclip_core.diffusion import GaussianDiffusion, x0_from_prediction
from unclip_core.errors import ConfigError
from unclip_core.testing import build_component

BATCH, SHAPE = 64, (3, 4, 4)


class Recorder:
    """A fixed, input-dependent 'network' that keeps the timesteps and x_t it was given."""

    def __call__(self, x_t, t, cond):
        self.x_t, self.t = x_t, t
        return torch.tanh(x_t * 0.7 + 0.1) + cond["shift"]


def weighted_and_expected(prediction: str, gamma: float | None):
    diffusion = GaussianDiffusion.make("cosine", 1000, prediction, min_snr_gamma=gamma)
    x0 = torch.randn(BATCH, *SHAPE, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    network, cond = Recorder(), {"shift": torch.tensor(0.05, dtype=torch.float64)}
    loss = diffusion.loss(network, x0, cond, torch.Generator().manual_seed(1))
    alpha, sigma = diffusion.schedule.alpha(network.t, x0), diffusion.schedule.sigma(network.t, x0)
    x0_error = (x0_from_prediction(prediction, network(network.x_t, network.t, cond), network.x_t, alpha, sigma) - x0)
    snr = (alpha / sigma).square().reshape(-1)
    return loss, snr, x0_error.square().flatten(1).mean(1)


@pytest.mark.parametrize("prediction", ["eps", "x0", "v"])
def test_weighted_loss_is_capped_snr_times_the_x0_error(prediction):
    loss, snr, x0_error = weighted_and_expected(prediction, 5.0)
    expected = (snr.clamp(max=5.0) * x0_error).mean()
    assert torch.isclose(loss.double(), expected, rtol=1e-4), (loss, expected)


def test_the_batch_spans_both_sides_of_gamma():
    # Otherwise the test above would not tell the cap from a constant factor.
    _, snr, _ = weighted_and_expected("eps", 5.0)
    assert (snr < 5).any() and (snr > 5).any()


def test_a_cap_no_timestep_reaches_leaves_the_eps_loss_unweighted():
    weighted, _, _ = weighted_and_expected("eps", 1e30)
    plain, _, _ = weighted_and_expected("eps", None)
    assert torch.isclose(weighted, plain, rtol=1e-5)


def test_gamma_changes_the_loss_and_none_is_the_plain_mse():
    capped, snr, x0_error = weighted_and_expected("eps", 5.0)
    plain, _, _ = weighted_and_expected("eps", None)
    assert not torch.isclose(capped, plain, rtol=1e-3)
    # The plain eps loss in x0 terms: every timestep weighted by its whole SNR.
    assert torch.isclose(plain.double(), (snr * x0_error).mean(), rtol=1e-4)


@pytest.mark.parametrize("gamma", [0, -1])
def test_a_gamma_that_is_not_positive_is_refused(gamma):
    with pytest.raises(ConfigError, match="min_snr_gamma"):
        build_component("decoder", {"type": "unet_decoder", "image_size": 8, "channels": 8, "min_snr_gamma": gamma,
                                    "sampler": {"type": "ddim", "steps": 3}}, spec=None)
