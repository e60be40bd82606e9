"""Conversions between what a network predicts (eps, x0 or v) and the clean sample x0."""

from __future__ import annotations

from typing import Literal

from torch import Tensor

Prediction = Literal["eps", "x0", "v"]


def x0_from_prediction(kind: Prediction, pred: Tensor, x_t: Tensor, alpha: Tensor, sigma: Tensor) -> Tensor:
    if kind == "x0":
        return pred
    if kind == "eps":
        return (x_t - sigma * pred) / alpha
    if kind == "v":
        # v = alpha * eps - sigma * x0 and alpha^2 + sigma^2 = 1 give x0 = alpha * x_t - sigma * v.
        return alpha * x_t - sigma * pred
    raise ValueError(f"unknown prediction '{kind}'; use one of eps, x0, v")


def training_target(kind: Prediction, x0: Tensor, noise: Tensor, alpha: Tensor, sigma: Tensor) -> Tensor:
    if kind == "x0":
        return x0
    if kind == "eps":
        return noise
    if kind == "v":
        return alpha * noise - sigma * x0
    raise ValueError(f"unknown prediction '{kind}'; use one of eps, x0, v")


def eps_from_x0(x0: Tensor, x_t: Tensor, alpha: Tensor, sigma: Tensor) -> Tensor:
    return (x_t - alpha * x0) / sigma
