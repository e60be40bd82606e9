"""Refusing NaN and infinity before they become a result: an image file or a weight file.

A NaN image converts to black pixels and a NaN weight file loads without complaint, so both
would pass for a result. Checks run once per finished tensor (a stage's output, a saved
tensor), never inside a sampling loop, where each check would wait for the device.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch

from .errors import NumericalError


def all_finite(tensor: torch.Tensor) -> bool:
    """True for integer tensors and for floating ones without NaN or infinity (one host sync)."""
    if not (tensor.is_floating_point() or tensor.is_complex()):
        return True
    return bool(torch.isfinite(tensor).all())


def require_finite_output(tensor: torch.Tensor, stage: str, hint: str) -> torch.Tensor:
    """`tensor` unchanged, or a NumericalError naming the stage that produced non-finite values."""
    if all_finite(tensor):
        return tensor
    bad = int((~torch.isfinite(tensor)).sum())
    raise NumericalError(
        f"the {stage} produced {bad:,} non-finite values (NaN or infinity) out of {tensor.numel():,}; "
        f"nothing was written. {hint}"
    )


def require_finite_tensors(tensors: Mapping[str, torch.Tensor], where: str, hint: str) -> None:
    """A NumericalError naming the first tensor of `tensors` that holds NaN or infinity."""
    for name, tensor in tensors.items():
        if not all_finite(tensor):
            bad = int((~torch.isfinite(tensor)).sum())
            raise NumericalError(
                f"{where}: tensor '{name}' holds {bad:,} non-finite values (NaN or infinity) "
                f"out of {tensor.numel():,}; {hint}"
            )
