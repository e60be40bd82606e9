"""Inpainting for any sampler: generate where `mask` is 1, keep `known` where it is 0."""

from __future__ import annotations

from torch import Generator, Tensor

from ..errors import InputError
from .noise import randn_like
from .schedule import NoiseSchedule


def check_inpainting(mask: Tensor | None, known: Tensor | None, shape: tuple[int, ...] | None = None) -> None:
    """Both or neither of `mask` and `known`; when `shape` (what the model samples) is given,
    each must cover the same pixels."""
    if (mask is None) != (known is None):
        raise InputError("inpainting needs both `mask` (1 = generate, 0 = keep) and `known` (the image to keep)")
    for name, value in (("mask", mask), ("known", known)):
        if shape is not None and value is not None and value.shape[-2:] != shape[-2:]:
            raise InputError(f"{name} is {tuple(value.shape[-2:])} pixels but this model samples {tuple(shape[-2:])}")


def keep_known(
    x: Tensor, t: Tensor, schedule: NoiseSchedule, mask: Tensor, known: Tensor, generator: Generator | None
) -> Tensor:
    """Where mask is 0, replace x by the known data noised to timestep t."""
    noised = schedule.add_noise(known, t, randn_like(known, generator))
    return mask * x + (1 - mask) * noised


def paste_known(x0: Tensor, mask: Tensor | None, known: Tensor | None) -> Tensor:
    """The finished sample: exactly `known` where mask is 0."""
    return x0 if mask is None else mask * x0 + (1 - mask) * known
