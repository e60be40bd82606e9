"""The loop every sampler shares: evaluate at each visited timestep, then step to the next."""

from __future__ import annotations

from collections.abc import Callable

from torch import Generator, Tensor

from .denoiser import Denoiser, StepCallback
from .evaluate import Evaluate, evaluator
from .inpainting import paste_known
from .schedule import NoiseSchedule
from .spacing import Spacing

# (timestep, predicted x0) of earlier steps, oldest first: what multistep solvers extrapolate from.
History = list[tuple[Tensor, Tensor]]
# step(evaluate, x_t, x0, t, s, history) -> x_s: move from timestep t to the smaller timestep s,
# given x0 predicted at (x_t, t). A step that needs more network evaluations calls `evaluate`.
Step = Callable[[Evaluate, Tensor, Tensor, Tensor, Tensor, History], Tensor]


def sampling_loop(
    step: Step,
    denoise: Denoiser,
    x: Tensor,
    schedule: NoiseSchedule,
    *,
    steps: int,
    spacing: Spacing = "linspace",
    generator: Generator | None = None,
    callback: StepCallback | None = None,
    mask: Tensor | None = None,
    known: Tensor | None = None,
) -> Tensor:
    """Visit `steps` spaced timesteps from noisy to clean; return the x0 predicted at the last."""
    evaluate = evaluator(denoise, schedule, generator=generator, callback=callback, mask=mask, known=known)
    timesteps = schedule.spaced(steps, x.device, spacing)
    batch = x.shape[0]
    history: History = []
    for i, t in enumerate(timesteps):
        t_batch = t.expand(batch)
        x, x0 = evaluate(x, t_batch)
        if i + 1 == len(timesteps):
            break
        x = step(evaluate, x, x0, t_batch, timesteps[i + 1].expand(batch), history)
        history.append((t_batch, x0))
    return paste_known(x0, mask, known)
