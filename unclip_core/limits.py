"""The ranges of the numbers a user hands to sampling: guidance, steps, seeds, image counts.

Each number is checked where it enters (a command-line flag, a keyword of `Pipeline.generate`)
against one `Range`, so the CLI and the Python API refuse the same values with the same
message, which states the accepted range. NaN and infinity are never accepted: a NaN guidance
scale would otherwise flow through every sampler step and come out as a black image.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import Any

from .errors import InputError


@dataclass(frozen=True)
class Range:
    """Accepted values of one kind of number: finite, within [low, high], whole when `whole`."""

    low: float
    high: float
    whole: bool
    meaning: str = ""

    def check(self, name: str, value: Any) -> Any:
        """`value` unchanged when it is in range (None passes: it means "the configured default")."""
        if value is None:
            return None
        number = self._number(value)
        if number is None or not (self.low <= number <= self.high):
            raise InputError(f"{name} must be {self.describe()}, got {value!r}{self.meaning}")
        return value

    def _number(self, value: Any) -> float | int | None:
        if isinstance(value, bool):  # True is an int to Python, never a count or a scale to a user
            return None
        if self.whole:
            return value if isinstance(value, numbers.Integral) else None
        if not isinstance(value, numbers.Real) or not math.isfinite(value):
            return None
        return value

    def describe(self) -> str:
        kind = "a whole number" if self.whole else "a finite number"
        high = "" if math.isinf(self.high) else f" and at most {_show(self.high)}"
        return f"{kind} of at least {_show(self.low)}{high}"


def _show(bound: float) -> str:
    if bound == 2**64 - 1:
        return "2^64-1"
    return f"{bound:g}" if isinstance(bound, float) else str(bound)


# Classifier-free guidance: 0 is unconditional, 1 no guidance; past a few dozen every sample saturates.
GUIDANCE = Range(0.0, 100.0, whole=False, meaning=" (1 means no guidance; 2-10 is the useful range)")
# Sampler steps: a schedule has at most its training timesteps; 10,000 bounds the wait.
STEPS = Range(1, 10_000, whole=True)
# What torch.Generator.manual_seed accepts without wrapping around.
SEED = Range(0, 2**64 - 1, whole=True)
# Images per prompt; the sampling budget (unclip_core/budget.py) bounds the total.
COUNT = Range(1, math.inf, whole=True)
