"""`unclip heun-demo`: Heun's error against the exact answer, next to DDIM's for the same cost.

For data drawn from N(mean, std^2) both the ideal denoiser
(`unclip_core.testing.helpers.gaussian_denoiser`) and the probability-flow ODE that
deterministic samplers integrate have closed forms: along the ODE,
(x_t - alpha_t * mean) / sqrt(alpha_t^2 * std^2 + sigma_t^2) stays constant. So the exact end
point of every noise draw is known, and a solver's error is measured, not estimated against a
long reference run. DDIM with eta 0 is Euler's method on the same ODE; it gets as many network
evaluations as Heun used (counted, not taken from either sampler's claim), so the table
compares equal cost.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

import torch
from torch import Tensor

from unclip_core.diffusion import NoiseSchedule
from unclip_core.errors import InputError
from unclip_core.testing.helpers import build_component, gaussian_denoiser

# The data distribution, per dimension; any mean and spread would do.
MEAN, STD = 0.5, 0.3
TIMESTEPS = 1000


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--steps", type=int, nargs="+", default=[4, 8, 16, 32], help="Heun step counts to try (default: 4 8 16 32)")
    parser.add_argument("--schedule", choices=["cosine", "linear"], default="cosine", help="noise schedule (default: cosine)")
    parser.add_argument("--samples", type=int, default=1024, help="noise draws averaged over (default: 1024)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the noise draws (default: 0)")


def run(args: argparse.Namespace) -> None:
    if min(args.steps) < 1 or max(args.steps) > TIMESTEPS // 2:
        raise InputError(f"--steps must lie between 1 and {TIMESTEPS // 2} (Heun evaluates up to twice per step); got {args.steps}")
    if args.samples < 1:
        raise InputError(f"--samples must be at least 1, got {args.samples}")
    schedule = NoiseSchedule.make(args.schedule, TIMESTEPS)
    noise = torch.randn(args.samples, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(args.seed))
    exact = exact_sample(schedule, noise)
    print(f"mean |x0 - exact| on N({MEAN}, {STD}^2) data, {args.schedule} schedule, {args.samples} draws")
    print(f"{'steps':>5}  {'evaluations':>11}  {'heun error':>10}  {'ddim error':>10}")
    for steps in args.steps:
        heun, evaluations = solve("heun", steps, schedule, noise)
        ddim, _ = solve("ddim", evaluations, schedule, noise)
        print(f"{steps:>5}  {evaluations:>11}  {error(heun, exact):>10.2e}  {error(ddim, exact):>10.2e}")


def exact_sample(schedule: NoiseSchedule, noise: Tensor) -> Tensor:
    """What an exact ODE solve from `noise` returns: the ideal x0 prediction at timestep 0."""
    last, first = torch.tensor([schedule.num_timesteps - 1]), torch.tensor([0])
    standardized = (noise - schedule.alpha(last, noise) * MEAN) / spread(schedule, last, noise)
    x_0 = schedule.alpha(first, noise) * MEAN + standardized * spread(schedule, first, noise)
    return gaussian_denoiser(schedule, MEAN, STD)(x_0, first.expand(len(noise)))


def spread(schedule: NoiseSchedule, t: Tensor, like: Tensor) -> Tensor:
    """The standard deviation of x_t: sqrt(alpha_t^2 std^2 + sigma_t^2)."""
    return (schedule.alpha(t, like) ** 2 * STD**2 + schedule.sigma(t, like) ** 2).sqrt()


def solve(sampler_type: str, steps: int, schedule: NoiseSchedule, noise: Tensor) -> tuple[Tensor, int]:
    """The registered sampler's result from `noise`, and how many times it called the denoiser."""
    denoise, calls = counted(gaussian_denoiser(schedule, MEAN, STD))
    sampler = build_component("sampler", {"type": sampler_type, "steps": steps})
    return sampler.sample(denoise, noise, schedule), calls[0]


def counted(denoise: Callable[[Tensor, Tensor], Tensor]) -> tuple[Callable[[Tensor, Tensor], Tensor], list[int]]:
    calls = [0]

    def wrapper(x: Tensor, t: Tensor) -> Tensor:
        calls[0] += 1
        return denoise(x, t)

    return wrapper, calls


def error(sample: Tensor, exact: Tensor) -> float:
    return (sample - exact).abs().mean().item()
