"""Classifier-free guidance with the conditional and unconditional passes in one forward call."""

from __future__ import annotations

from collections.abc import Callable, Mapping

import torch
from torch import Tensor

from .denoiser import Denoiser

# model(x_t, t, conditioning) -> predicted x0, where conditioning is a dict of batched tensors.
ConditionedDenoiser = Callable[[Tensor, Tensor, Mapping[str, Tensor]], Tensor]


def guided_denoiser(
    model: ConditionedDenoiser,
    cond: Mapping[str, Tensor],
    uncond: Mapping[str, Tensor],
    scale: float,
) -> Denoiser:
    """x0_uncond + scale * (x0_cond - x0_uncond), both halves from one batched call.

    Guiding the x0 prediction equals guiding eps: at fixed x_t the two are related by the same
    affine map, so the guided x0 and the guided eps describe the same point.
    """
    if scale == 1.0:
        return lambda x, t: model(x, t, cond)
    both = {key: torch.cat([cond[key], uncond[key]]) for key in cond}

    def denoise(x: Tensor, t: Tensor) -> Tensor:
        x0_cond, x0_uncond = model(torch.cat([x, x]), torch.cat([t, t]), both).chunk(2)
        return x0_uncond + scale * (x0_cond - x0_uncond)

    return denoise
