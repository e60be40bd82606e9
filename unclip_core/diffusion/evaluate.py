"""The one way a sampler calls its network: `evaluate(x_t, t)`.

Every network evaluation of a sampling run goes through the same `evaluate`, which keeps the
known region (when inpainting), calls the denoiser and reports to the callback with a running
index. Solvers that evaluate more than once per step (Heun, RePaint's resampling) call it too,
so the callback fires exactly once per evaluation and every evaluation sees the mask applied.
"""

from __future__ import annotations

from collections.abc import Callable

from torch import Generator, Tensor

from .denoiser import Denoiser, StepCallback
from .inpainting import check_inpainting, keep_known
from .schedule import NoiseSchedule

# evaluate(x_t, t) -> (x_t as evaluated, predicted x0). When inpainting, the x_t evaluated has
# its known region replaced by the known data noised to t; steps continue from that x_t.
Evaluate = Callable[[Tensor, Tensor], "tuple[Tensor, Tensor]"]


def evaluator(
    denoise: Denoiser,
    schedule: NoiseSchedule,
    *,
    generator: Generator | None = None,
    callback: StepCallback | None = None,
    mask: Tensor | None = None,
    known: Tensor | None = None,
) -> Evaluate:
    """An `evaluate` for one sampling run; its running index starts at 0."""
    check_inpainting(mask, known)
    calls = 0

    def evaluate(x: Tensor, t: Tensor) -> tuple[Tensor, Tensor]:
        nonlocal calls
        if mask is not None:
            x = keep_known(x, t, schedule, mask, known, generator)
        x0 = denoise(x, t)
        if callback is not None:
            callback(calls, x, x0)
        calls += 1
        return x, x0

    return evaluate
