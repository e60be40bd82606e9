"""The loop every sampler shares: evaluate, report, step, keep the known region."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Generator, Tensor

from .denoiser import Denoiser, StepCallback
from .schedule import NoiseSchedule

# step(x_t, x0, t, s, previous) -> x_s, moving from timestep t to the smaller timestep s.
# `previous` is the (timestep, x0) of the step before, for multistep solvers.
Step = Callable[[Tensor, Tensor, Tensor, Tensor, "tuple[Tensor, Tensor] | None"], Tensor]


def randn_like(x: Tensor, generator: Generator | None) -> Tensor:
    return torch.randn(x.shape, generator=generator, device=x.device, dtype=x.dtype)


def keep_known(
    x: Tensor, t: Tensor, schedule: NoiseSchedule, mask: Tensor, known: Tensor, generator: Generator | None
) -> Tensor:
    """Where mask is 0, replace x by the known data noised to timestep t."""
    noised = schedule.add_noise(known, t, randn_like(known, generator))
    return mask * x + (1 - mask) * noised


def sampling_loop(
    step: Step,
    denoise: Denoiser,
    x: Tensor,
    schedule: NoiseSchedule,
    *,
    steps: int,
    generator: Generator | None = None,
    callback: StepCallback | None = None,
    mask: Tensor | None = None,
    known: Tensor | None = None,
) -> Tensor:
    """Run `steps` denoiser evaluations from the last timestep to 0; return the final x0."""
    if (mask is None) != (known is None):
        raise ValueError("inpainting needs both `mask` and `known`")
    timesteps = schedule.spaced(steps, x.device)
    batch = x.shape[0]
    previous = None
    for i, t in enumerate(timesteps):
        t_batch = t.expand(batch)
        if mask is not None:
            x = keep_known(x, t_batch, schedule, mask, known, generator)
        x0 = denoise(x, t_batch)
        if callback is not None:
            callback(i, x, x0)
        if i + 1 == len(timesteps):
            break
        x = step(x, x0, t_batch, timesteps[i + 1].expand(batch), previous)
        previous = (t_batch, x0)
    if mask is not None:
        x0 = mask * x0 + (1 - mask) * known
    return x0
