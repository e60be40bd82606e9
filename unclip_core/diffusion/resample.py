"""RePaint-style resampling (Lugmayr et al. 2022): jump back up the noise schedule and denoise
again, so the generated region and the known region it is stitched to can agree.

Keeping the known region at every step (`keep_known`) makes the known pixels exact but gives
the generated pixels only one look at them per step; near edges that leaves visible seams.
Resampling repeats each stretch of `jump` steps `resample` times, each time re-noising the
current sample back to where the stretch began.
"""

from __future__ import annotations

import torch
from torch import Generator, Tensor

from .denoiser import Denoiser, StepCallback
from .evaluate import evaluator
from .inpainting import paste_known
from .loop import Step
from .noise import randn_like
from .schedule import NoiseSchedule
from .spacing import Spacing


def resampling_path(steps: int, resample: int, jump: int) -> list[int]:
    """Positions visited on the `steps` spaced timesteps: 0 is pure noise, `steps` is data.

    Going down is one position at a time; after arriving at a position p with p >= jump and
    (steps - p) a multiple of `jump`, the path goes back up to p - jump, `resample - 1` times.
    With resample=1 the path is simply 0, 1, ..., steps.
    """
    if steps < 1 or resample < 1 or jump < 1:
        raise ValueError(f"steps, resample and jump must be at least 1, got {steps}, {resample}, {jump}")
    path, position = [0], 0
    jumps_left = {p: resample - 1 for p in range(jump, steps + 1) if (steps - p) % jump == 0}
    while position < steps:
        position += 1
        path.append(position)
        if jumps_left.get(position, 0) > 0:
            jumps_left[position] -= 1
            position -= jump
            path.append(position)
    return path


def evaluations(steps: int, resample: int, jump: int) -> int:
    """How many denoiser calls a resampling run makes (one per downward move)."""
    path = resampling_path(steps, resample, jump)
    return sum(b > a for a, b in zip(path, path[1:]))


def renoise(x: Tensor, abar_from: Tensor, abar_to: Tensor, generator: Generator | None) -> Tensor:
    """Forward diffusion from a less noisy level to a noisier one: q(x_to | x_from)."""
    ratio = abar_to / abar_from
    return ratio.sqrt() * x + (1 - ratio).sqrt() * randn_like(x, generator)


def resampling_loop(
    step: Step,
    denoise: Denoiser,
    x: Tensor,
    schedule: NoiseSchedule,
    *,
    steps: int,
    resample: int,
    jump: int,
    spacing: Spacing = "linspace",
    generator: Generator | None = None,
    callback: StepCallback | None = None,
    mask: Tensor | None = None,
    known: Tensor | None = None,
) -> Tensor:
    """Like `sampling_loop`, but following `resampling_path`: the same step, with jumps back.

    Steps see no history: after a jump the previous predictions belong to another path.
    """
    evaluate = evaluator(denoise, schedule, generator=generator, callback=callback, mask=mask, known=known)
    timesteps = schedule.spaced(steps, x.device, spacing)
    batch = x.shape[0]
    # Position `steps` is the data itself (abar = 1), so a jump can start from a finished sample.
    abar = torch.cat([schedule.on(x.device)[timesteps], torch.ones(1, dtype=torch.float64, device=x.device)])
    path = resampling_path(steps, resample, jump)
    for a, b in zip(path, path[1:]):
        if b < a:  # jump back up: re-noise what we have
            x = renoise(x, abar[a].to(x.dtype), abar[b].to(x.dtype), generator)
            continue
        t_batch = timesteps[a].expand(batch)
        x, x0 = evaluate(x, t_batch)
        x = paste_known(x0, mask, known) if b == steps else step(evaluate, x, x0, t_batch, timesteps[b].expand(batch), [])
    return x
