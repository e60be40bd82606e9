"""Sampler accuracy per network evaluation, against the exact probability-flow solution.

On Gaussian data x0 ~ N(mean, std^2) the denoiser E[x0 | x_t] is known in closed form
(`gaussian_denoiser`), and so is the probability-flow ODE's solution: it keeps the standardized
value (x_t - alpha_t mean) / sqrt(alpha_t^2 std^2 + sigma_t^2) constant, so the noise x at the
last timestep maps to mean + std * z at the data end. A deterministic sampler's error is the
mean |sample - that solution|: pure discretization error, with no network error to hide it.

Every deterministic sampler runs at every timestep spacing and evaluation budget; diffusers'
schedulers (the `bench` extra) run in the same process on the same schedule, noise and
denoiser (given to them as an eps prediction), each at each spacing it offers.

    pip install -e ".[bench]"
    python benchmarks/samplers.py --out benchmarks/results/samplers.json --plot docs/images/samplers.png
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path

import torch
from torch import Tensor

from unclip_core.diffusion import SPACINGS, NoiseSchedule
from unclip_core.testing.helpers import build_component, gaussian_denoiser

BUDGETS = (5, 10, 15, 25, 50)
# Our deterministic samplers; `heun` is the example plugin's (two evaluations per step).
OURS = {"ddim": {"type": "ddim", "eta": 0.0}, "dpmpp_2m": {"type": "dpmpp_2m"}, "heun": {"type": "heun"}}


def exact_solution(x_T: Tensor, schedule: NoiseSchedule, mean: float, std: float) -> Tensor:
    """Where the probability-flow ODE takes x_T (at the last timestep) at the data end."""
    t = torch.full((x_T.shape[0],), schedule.num_timesteps - 1)
    alpha, sigma = schedule.alpha(t, x_T), schedule.sigma(t, x_T)
    return mean + std * (x_T - alpha * mean) / (alpha**2 * std**2 + sigma**2).sqrt()


def steps_for_budget(section: dict, budget: int) -> int | None:
    """The most steps whose `evaluations` fit the budget exactly, or None if none does."""
    for steps in range(budget, 0, -1):
        sampler = build_component("sampler", {**section, "steps": steps})
        if sampler.evaluations == budget:
            return steps
    return None


def run_ours(name: str, spacing: str, budget: int, denoise, x_T: Tensor, schedule: NoiseSchedule) -> Tensor | None:
    section = {**OURS[name], "spacing": spacing}
    steps = steps_for_budget(section, budget)
    if steps is None:
        return None
    calls = 0

    def counted(x: Tensor, t: Tensor) -> Tensor:
        nonlocal calls
        calls += 1
        return denoise(x, t)

    out = build_component("sampler", {**section, "steps": steps}).sample(counted, x_T, schedule)
    assert calls == budget, (name, spacing, budget, calls)
    return out


# ---- diffusers -------------------------------------------------------------------------------

# Our spacing name -> the scheduler options that give diffusers' version of it.
DIFFUSERS_SPACINGS = {
    "linspace": {"timestep_spacing": "linspace"},
    "leading": {"timestep_spacing": "leading"},
    "trailing": {"timestep_spacing": "trailing"},
    "karras": {"use_karras_sigmas": True},
    "log_snr": {"use_lu_lambdas": True},
}


def diffusers_schedulers() -> dict[str, Callable[..., object]]:
    import diffusers

    return {
        "DDIMScheduler": lambda **kw: diffusers.DDIMScheduler(clip_sample=False, set_alpha_to_one=True, **kw),
        "DPMSolverMultistepScheduler(2M)": lambda **kw: diffusers.DPMSolverMultistepScheduler(
            algorithm_type="dpmsolver++", solver_order=2, **kw),
        "DPMSolverMultistepScheduler(3M)": lambda **kw: diffusers.DPMSolverMultistepScheduler(
            algorithm_type="dpmsolver++", solver_order=3, **kw),
        "UniPCMultistepScheduler": lambda **kw: diffusers.UniPCMultistepScheduler(**kw),
        "HeunDiscreteScheduler": lambda **kw: diffusers.HeunDiscreteScheduler(**kw),
    }


def run_diffusers(make, spacing: str, budget: int, denoise, x_T: Tensor, schedule: NoiseSchedule) -> Tensor | None:
    """Sample with a diffusers scheduler; None when it does not offer the spacing."""
    abar = schedule.alphas_cumprod
    betas = (1 - abar / torch.cat([torch.ones(1, dtype=abar.dtype), abar[:-1]])).numpy()
    try:
        scheduler = make(num_train_timesteps=schedule.num_timesteps, trained_betas=betas,
                         prediction_type="epsilon", **DIFFUSERS_SPACINGS[spacing])
    except (TypeError, ValueError):
        return None
    calls = 0

    def eps(x: Tensor, t: Tensor) -> Tensor:
        nonlocal calls
        calls += 1
        t_batch = t.round().long().expand(x.shape[0])
        alpha, sigma = schedule.alpha(t_batch, x), schedule.sigma(t_batch, x)
        return (x - alpha * denoise(x, t_batch)) / sigma

    # Heun's scheduler counts its steps, not its evaluations: find the count that fits.
    inference_steps = budget
    while inference_steps > 0:
        try:
            scheduler.set_timesteps(inference_steps)
        except ValueError:
            return None
        if len(scheduler.timesteps) <= budget:
            break
        inference_steps -= 1
    if len(scheduler.timesteps) != budget:
        return None
    # Diffusers' own convention: the starting noise is scaled by init_noise_sigma.
    x = x_T * float(scheduler.init_noise_sigma)
    try:
        for t in scheduler.timesteps:
            # Schedulers in the sigma (VE) form scale x back to the network's x_t here.
            model_input = scheduler.scale_model_input(x, t)
            noise_pred = eps(model_input, t.reshape(1).to(torch.float64))
            x = scheduler.step(noise_pred, t, x).prev_sample
    except (IndexError, AssertionError):  # some scheduler x spacing pairs fail on the cosine schedule
        return None
    assert calls == budget
    return x


# ---- report ----------------------------------------------------------------------------------


def best(rows: list[dict], sampler: str, budget: int) -> dict | None:
    candidates = [r for r in rows if r["sampler"] == sampler and r["evaluations"] == budget and r["error"] is not None]
    return min(candidates, key=lambda r: r["error"]) if candidates else None


def plot(rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    samplers = sorted({r["sampler"] for r in rows}, key=lambda s: (r_source(rows, s), s))
    fig, ax = plt.subplots(figsize=(8, 5))
    for sampler in samplers:
        points = [(b, best(rows, sampler, b)) for b in BUDGETS]
        points = [(b, r["error"]) for b, r in points if r is not None]
        if not points:
            continue
        ours = r_source(rows, sampler) == "unclip"
        ax.plot(*zip(*points), marker="o" if ours else "x", linestyle="-" if ours else "--",
                label=f"{sampler} ({'unclip' if ours else 'diffusers'})")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xticks(BUDGETS, [str(b) for b in BUDGETS])
    ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    ax.set_xlabel("network evaluations")
    ax.set_ylabel("mean |x - exact ODE solution| (best spacing)")
    ax.set_title("Sampler error on the analytic Gaussian denoiser")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def r_source(rows: list[dict], sampler: str) -> str:
    return next(r["source"] for r in rows if r["sampler"] == sampler)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--schedule", default="linear", choices=["linear", "cosine"])
    parser.add_argument("--timesteps", type=int, default=1000)
    parser.add_argument("--mean", type=float, default=0.3)
    parser.add_argument("--std", type=float, default=0.5)
    parser.add_argument("--samples", type=int, nargs=2, default=[256, 4], metavar=("N", "DIM"))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-diffusers", action="store_true", help="only unclip's samplers")
    parser.add_argument("--out", type=Path, help="write the rows as JSON here")
    parser.add_argument("--plot", type=Path, help="write the error-vs-evaluations plot (PNG) here")
    args = parser.parse_args()

    schedule = NoiseSchedule.make(args.schedule, args.timesteps)
    denoise = gaussian_denoiser(schedule, args.mean, args.std)
    x_T = torch.randn(*args.samples, dtype=torch.float64, generator=torch.Generator().manual_seed(args.seed))
    exact = exact_solution(x_T, schedule, args.mean, args.std)

    def error(sample: Tensor | None) -> float | None:
        return None if sample is None else float((sample - exact).abs().mean())

    rows = []
    for name in OURS:
        for spacing in SPACINGS:
            for budget in BUDGETS:
                rows.append({"source": "unclip", "sampler": name, "spacing": spacing, "evaluations": budget,
                             "error": error(run_ours(name, spacing, budget, denoise, x_T, schedule))})
    if not args.no_diffusers:
        for name, make in diffusers_schedulers().items():
            for spacing in SPACINGS:
                for budget in BUDGETS:
                    rows.append({"source": "diffusers", "sampler": name, "spacing": spacing, "evaluations": budget,
                                 "error": error(run_diffusers(make, spacing, budget, denoise, x_T, schedule))})

    samplers = list(dict.fromkeys(r["sampler"] for r in rows))
    print(f"mean |x - exact| on N({args.mean}, {args.std}^2), {args.schedule} schedule, {args.timesteps} timesteps")
    print("per spacing:")
    print("| sampler | spacing | " + " | ".join(str(b) for b in BUDGETS) + " |")
    print("|---|---|" + "---|" * len(BUDGETS))
    for sampler in samplers:
        for spacing in SPACINGS:
            errors = {r["evaluations"]: r["error"] for r in rows if r["sampler"] == sampler and r["spacing"] == spacing}
            if all(e is None for e in errors.values()):
                continue
            cells = ["-" if errors[b] is None else f"{errors[b]:.5f}" for b in BUDGETS]
            print(f"| {sampler} | {spacing} | " + " | ".join(cells) + " |")
    print("\nbest spacing per budget:")
    print("| sampler | " + " | ".join(str(b) for b in BUDGETS) + " |")
    print("|---|" + "---|" * len(BUDGETS))
    for sampler in samplers:
        cells = []
        for b in BUDGETS:
            r = best(rows, sampler, b)
            cells.append("-" if r is None else f"{r['error']:.5f} ({r['spacing']})")
        print(f"| {sampler} | " + " | ".join(cells) + " |")

    settings = {"schedule": args.schedule, "timesteps": args.timesteps, "mean": args.mean, "std": args.std,
                "samples": args.samples, "seed": args.seed, "dtype": "float64"}
    if not args.no_diffusers:
        import diffusers

        settings["diffusers"] = diffusers.__version__
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps({"settings": settings, "rows": rows}, indent=1) + "\n")
    if args.plot:
        plot(rows, args.plot)


if __name__ == "__main__":
    main()
