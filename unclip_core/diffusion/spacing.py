"""Which of a schedule's training timesteps a sampler visits, and in what order.

A sampler with n evaluations visits n distinct timesteps, from noisiest to cleanest, and its
sample is the x0 predicted at the last one. How those n are spread over the T training
timesteps decides how much of the step budget goes to the noisy end (where the image's layout
forms) and how much to the clean end (where detail forms):

- `linspace`: evenly spaced from T-1 to 0, both ends included.
- `leading`: every (T // n)-th timestep from 0 up; the noisiest visited is below T-1, so the
  sampler treats its starting noise as a slightly less noisy sample than it is.
- `trailing`: every (T / n)-th timestep from T-1 down; the cleanest visited is T/n - 1, not 0.
- `karras`: noise levels sigma = sigma_VE (the noise-to-signal ratio) evenly spaced in
  sigma^(1/7) between the schedule's ends (Karras et al. 2022), which crowds steps at low noise.
- `log_snr`: evenly spaced in log(alpha / sigma), the variable multistep solvers integrate in,
  so each of their steps spans the same interval.

`karras` and `log_snr` aim at noise levels between training timesteps; each is rounded to the
nearest timestep (in log noise level), then nudged so that all n are distinct.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal, get_args

import torch
from torch import Tensor

from ..errors import InputError

if TYPE_CHECKING:
    from .schedule import NoiseSchedule

Spacing = Literal["linspace", "leading", "trailing", "karras", "log_snr"]
SPACINGS: tuple[str, ...] = get_args(Spacing)

# Karras et al.'s rho: larger values crowd more of the steps near the clean end.
KARRAS_RHO = 7.0


def spaced_timesteps(schedule: NoiseSchedule, steps: int, spacing: Spacing = "linspace") -> Tensor:
    """`steps` distinct timesteps of `schedule`, descending (long, on the CPU)."""
    total = schedule.num_timesteps
    if steps > total:
        raise InputError(
            f"a sampler asks for {steps} steps but the schedule has only "
            f"{total} timesteps; lower the sampler's `steps`"
        )
    if steps < 1:
        raise InputError(f"a sampler needs at least 1 step, got {steps}")
    position = torch.arange(steps, dtype=torch.float64)
    if spacing == "linspace":
        return torch.linspace(total - 1, 0, steps, dtype=torch.float64).round().long()
    if spacing == "leading":
        return (position * (total // steps)).long().flip(0)
    if spacing == "trailing":
        return (total - position * total / steps).round().long() - 1
    log_sigma = _log_noise_to_signal(schedule)
    if spacing == "karras":
        sigma_max, sigma_min = log_sigma[-1].exp(), log_sigma[0].exp()
        fraction = position / max(steps - 1, 1)
        ramp = sigma_max ** (1 / KARRAS_RHO) + fraction * (sigma_min ** (1 / KARRAS_RHO) - sigma_max ** (1 / KARRAS_RHO))
        targets = KARRAS_RHO * ramp.log()
    elif spacing == "log_snr":
        targets = torch.linspace(log_sigma[-1].item(), log_sigma[0].item(), steps, dtype=torch.float64)
    else:
        raise ValueError(f"unknown timestep spacing '{spacing}'; use one of {', '.join(SPACINGS)}")
    return _distinct(_nearest(log_sigma, targets), total)


def _log_noise_to_signal(schedule: NoiseSchedule) -> Tensor:
    """log(sigma_t / alpha_t) for every timestep: increasing in t, and -log SNR / 2."""
    abar = schedule.alphas_cumprod
    return 0.5 * ((1 - abar).log() - abar.log())


def _nearest(table: Tensor, targets: Tensor) -> Tensor:
    """Index of the entry of the increasing `table` closest to each target."""
    above = torch.searchsorted(table, targets).clamp(1, len(table) - 1)
    below = above - 1
    closer_below = (targets - table[below]).abs() <= (table[above] - targets).abs()
    return torch.where(closer_below, below, above)


def _distinct(descending: Tensor, total: int) -> Tensor:
    """Make a non-increasing run of timesteps strictly decreasing, moving each as little as needed.

    Rounding crowds targets onto the same few timesteps where the schedule changes slowly; each
    duplicate is pushed one timestep up, and the top is capped at T-1 by pushing back down.
    """
    ascending = descending.flip(0)
    index = torch.arange(len(ascending))
    ascending = index + torch.cummax(ascending - index, 0).values
    ascending = torch.minimum(ascending, total - len(ascending) + index)
    return ascending.flip(0)
