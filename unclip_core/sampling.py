"""Per-call sampler settings for a pipeline: progress bars and step counts, without rebuilding.

Components that sample hold their sampler as `.sampler` (the graph's nested `sampler:`). For
one call, `sampling_options` swaps each for a wrapper that reports every network evaluation to
a tqdm bar and, when asked, samples with another number of steps; the originals come back
afterwards, whatever happens.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

from tqdm.auto import tqdm

from .errors import InputError
from .interfaces import Sampler


class ReportingSampler:
    """Delegates to `inner` (optionally re-configured with `steps`), ticking `bar` per evaluation."""

    def __init__(self, inner: Sampler, label: str, steps: int | None, progress: bool) -> None:
        if steps is not None:
            if steps < 1:
                raise InputError(f"{label} steps must be at least 1, got {steps}")
            inner = type(inner)(inner.config.model_copy(update={"steps": steps}))
        self.inner = inner
        self.label = label
        self.progress = progress

    def __getattr__(self, name: str) -> Any:  # name, steps, supports_inversion, invert, ...
        return getattr(self.inner, name)

    def sample(self, denoise, x, schedule, *, callback=None, **kwargs):
        with tqdm(total=self.inner.steps, desc=self.label, unit="step", leave=False, disable=not self.progress) as bar:

            def report(i, x_t, x0):
                bar.update(1)
                if callback is not None:
                    callback(i, x_t, x0)

            return self.inner.sample(denoise, x, schedule, callback=report, **kwargs)


@contextmanager
def sampling_options(stages: dict[str, Any], steps: dict[str, int | None], progress: bool) -> Iterator[None]:
    """For `stages` (label -> component), wrap each component's `.sampler` for the duration."""
    with ExitStack() as stack:
        for label, component in stages.items():
            sampler = getattr(component, "sampler", None)
            if isinstance(sampler, Sampler):
                wrapper = ReportingSampler(sampler, label, steps.get(label), progress)
                stack.callback(setattr, component, "sampler", sampler)
                # Bypass nn.Module.__setattr__ bookkeeping: a sampler is a plain attribute.
                object.__setattr__(component, "sampler", wrapper)
            elif steps.get(label) is not None:
                raise InputError(f"the {label} of this pipeline has no sampler, so its steps cannot be set")
        yield
