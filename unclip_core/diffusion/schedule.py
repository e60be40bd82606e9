"""Discrete-time Gaussian noise schedules: x_t = alpha_t * x0 + sigma_t * eps."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

import torch
from torch import Tensor

from .spacing import Spacing, spaced_timesteps

ScheduleKind = Literal["cosine", "linear"]


def cosine_alphas_cumprod(timesteps: int, offset: float = 0.008) -> Tensor:
    """Nichol & Dhariwal's cosine schedule, betas clipped at 0.999 as in their paper."""
    steps = torch.arange(timesteps + 1, dtype=torch.float64) / timesteps
    f = torch.cos((steps + offset) / (1 + offset) * math.pi / 2) ** 2
    betas = (1 - f[1:] / f[:-1]).clamp(max=0.999)
    return torch.cumprod(1 - betas, 0)


def linear_alphas_cumprod(timesteps: int) -> Tensor:
    """Ho et al.'s linear betas, rescaled so any length spans the same noise range as 1000."""
    scale = 1000 / timesteps
    betas = torch.linspace(scale * 1e-4, scale * 0.02, timesteps, dtype=torch.float64)
    return torch.cumprod(1 - betas, 0)


@dataclass(frozen=True)
class NoiseSchedule:
    """alphas_cumprod[t] = alpha_t ** 2 for t in 0..T-1 (float64, so sampling math stays exact)."""

    alphas_cumprod: Tensor
    # Copies of the table on other devices, made once: copying it at every call would make each
    # training step wait for the GPU (a host->device copy synchronizes).
    _copies: dict[torch.device, Tensor] = field(default_factory=dict, init=False, repr=False, compare=False)

    @classmethod
    def make(cls, kind: ScheduleKind, timesteps: int) -> NoiseSchedule:
        table = {"cosine": cosine_alphas_cumprod, "linear": linear_alphas_cumprod}
        return cls(table[kind](timesteps))

    @property
    def num_timesteps(self) -> int:
        return self.alphas_cumprod.shape[0]

    def head(self, length: int) -> NoiseSchedule:
        """The first `length` timesteps (0..length-1) at their own noise levels: a sampler given
        it starts at timestep length-1 instead of T-1, as when starting from a noised image."""
        if not 1 <= length <= self.num_timesteps:
            raise ValueError(f"a schedule of {self.num_timesteps} timesteps has no head of {length}")
        return NoiseSchedule(self.alphas_cumprod[:length])

    def on(self, device: torch.device) -> Tensor:
        """alphas_cumprod on `device`."""
        if device == self.alphas_cumprod.device:
            return self.alphas_cumprod
        if device not in self._copies:
            self._copies[device] = self.alphas_cumprod.to(device)
        return self._copies[device]

    def alpha(self, t: Tensor, like: Tensor) -> Tensor:
        """alpha_t for a (B,) batch of timesteps, shaped to broadcast against `like`."""
        return _broadcast(self.on(t.device)[t].sqrt(), like)

    def sigma(self, t: Tensor, like: Tensor) -> Tensor:
        return _broadcast((1 - self.on(t.device)[t]).sqrt(), like)

    def add_noise(self, x0: Tensor, t: Tensor, noise: Tensor) -> Tensor:
        return self.alpha(t, x0) * x0 + self.sigma(t, x0) * noise

    def spaced(self, steps: int, device: torch.device | str = "cpu", spacing: Spacing = "linspace") -> Tensor:
        """`steps` distinct timesteps from noisy to clean (descending, long); see `spacing.py`."""
        return spaced_timesteps(self, steps, spacing).to(device)

    def sample_timesteps(self, batch: int, device: torch.device | str, generator=None) -> Tensor:
        """Uniform random training timesteps."""
        return torch.randint(0, self.num_timesteps, (batch,), device=device, generator=generator)


def _broadcast(values: Tensor, like: Tensor) -> Tensor:
    return values.to(like.dtype).reshape(-1, *([1] * (like.ndim - 1)))
