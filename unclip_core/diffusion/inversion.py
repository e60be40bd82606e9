"""DDIM inversion: run the deterministic DDIM update backwards, from data to noise.

The eta=0 DDIM step from t to s keeps the predicted noise eps fixed and moves x along
x = alpha * x0 + sigma * eps. Running it from s up to t, with x0 and eps predicted at the
lower timestep s (the only point known going up), gives an x_T that DDIM with the same
timesteps maps back to (nearly) the same data; the residual is the discretization error of
using s's prediction for the whole interval, and shrinks with the step size.
"""

from __future__ import annotations

from torch import Tensor

from .denoiser import Denoiser, StepCallback
from .evaluate import evaluator
from .parameterization import eps_from_x0
from .schedule import NoiseSchedule
from .spacing import Spacing


def ddim_invert(
    denoise: Denoiser,
    x0: Tensor,
    schedule: NoiseSchedule,
    *,
    steps: int,
    callback: StepCallback | None = None,
    spacing: Spacing = "linspace",
) -> Tensor:
    """The x_T that `steps`-step deterministic DDIM (same spacing) turns back into x0.

    Makes steps - 1 network evaluations, one per interval between the visited timesteps.
    """
    evaluate = evaluator(denoise, schedule, callback=callback)
    timesteps = schedule.spaced(steps, x0.device, spacing).flip(0)
    batch = x0.shape[0]
    x = x0
    for s, t in zip(timesteps[:-1], timesteps[1:]):
        s_batch, t_batch = s.expand(batch), t.expand(batch)
        _, predicted = evaluate(x, s_batch)
        eps = eps_from_x0(predicted, x, schedule.alpha(s_batch, x), schedule.sigma(s_batch, x))
        x = schedule.alpha(t_batch, x) * predicted + schedule.sigma(t_batch, x) * eps
    return x
