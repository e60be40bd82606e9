"""Plots: every metric against the x axis (plot_x, or the axis that counts steps) and against
seconds per image, and any pairs of columns the experiment names against each other (trade-offs).

One line per variant family: the variants that share every axis value but the x axis.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import matplotlib
import matplotlib.ticker

matplotlib.use("Agg")  # files only: no display, and safe in worker processes
import matplotlib.pyplot as plt  # noqa: E402

from .tables import interval, metric_columns, value  # noqa: E402
from .variants import Variant  # noqa: E402


def write_plots(records: list[dict[str, Any]], x_axis: str | None, folder: Path, pairs: list[tuple[str, str]] = ()) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    families = _families(records, x_axis)
    # Against steps, only variants that set the x axis (an extra variant may leave it out).
    along_x = _families([r for r in records if x_axis in r["settings"]], x_axis) if x_axis is not None else {}
    # Named by the axis key's last part: decoder.sampler.steps -> <metric>_vs_steps.png.
    x_name = x_axis.rsplit(".", 1)[-1] if x_axis is not None else None
    for column in metric_columns(records):
        if x_axis is not None:
            written.append(_plot(along_x, lambda r: r["settings"][x_axis], x_axis, column, folder / f"{column}_vs_{x_name}.png"))
        written.append(_plot(families, lambda r: r["seconds_per_image"], "seconds per image", column, folder / f"{column}_vs_seconds.png"))
    if x_axis is not None:
        written.append(_plot(along_x, lambda r: r["settings"][x_axis], x_axis, "seconds_per_image", folder / f"seconds_per_image_vs_{x_name}.png"))
    # Each point of a trade-off is labelled with its x-axis value, which the line runs through in order.
    label = (lambda r: r["settings"].get(x_axis)) if x_axis is not None else None
    for x_column, y_column in pairs:
        written.append(_plot(families, lambda r, c=x_column: value(r, c), x_column, y_column, folder / f"{y_column}_vs_{x_column}.png", label))
    return written


def _families(records: list[dict[str, Any]], x_axis: str | None) -> dict[str, list[dict[str, Any]]]:
    families: dict[str, list[dict[str, Any]]] = {}
    for record in records:
        variant = Variant(tuple(record["settings"].items()))
        families.setdefault(variant.family(x_axis), []).append(record)
    for members in families.values():  # a line runs along the x axis (or, without one, along time)
        members.sort(key=lambda r: r["settings"][x_axis] if x_axis in r["settings"] else r["seconds_per_image"])
    return families


def error_bars(members: list[dict[str, Any]], column: str) -> tuple[str, list[list[float]]] | None:
    """A family's error bars for `column` as (over what, [below, above] per point): the 95%
    interval over seeds where every point has several, else the one over prompts where every
    point has it (a single seed says nothing of the noise, the prompts still do); else None."""
    seeds = [interval(r, column) for r in members]
    if all(s is not None for s in seeds):
        return "seeds", [seeds, seeds]
    bounds = [r.get("metrics_prompts_ci95", {}).get(column) for r in members]
    if all(b is not None for b in bounds):
        # max(0, ...): the mean and the interval's ends agree only to rounding (a rate of 1 on every prompt).
        return "prompts", [[max(0.0, value(r, column) - b[0]) for r, b in zip(members, bounds)],
                           [max(0.0, b[1] - value(r, column)) for r, b in zip(members, bounds)]]
    return None


def _plot(families, x_of, x_label: str, column: str, path: Path, point_label=None) -> Path:
    figure, axes = plt.subplots(figsize=(6.4, 4.4))
    kinds = set()
    for family, members in families.items():
        members = [r for r in members if not math.isnan(value(r, column)) and not _is_nan(x_of(r))]
        if not members:
            continue
        xs, ys = [x_of(r) for r in members], [value(r, column) for r in members]
        bars = error_bars(members, column)
        if bars is not None:
            kinds.add(bars[0])
            axes.errorbar(xs, ys, yerr=bars[1], marker="o", capsize=3, label=family)
        else:
            axes.plot(xs, ys, marker="o", label=family)
        if point_label is not None:
            for x, y, r in zip(xs, ys, members):
                if (text := point_label(r)) is not None:
                    axes.annotate(str(text), (x, y), textcoords="offset points", xytext=(4, 4), fontsize="x-small")
    if x_label.endswith("steps") and all(isinstance(x_of(r), (int, float)) and x_of(r) > 0 for m in families.values() for r in m):
        axes.set_xscale("log", base=2)  # step counts are usually doubled from one variant to the next
        axes.xaxis.set_major_formatter(matplotlib.ticker.ScalarFormatter())
        axes.set_xticks(sorted({x_of(r) for m in families.values() for r in m}))
    axes.set_xlabel(x_label)
    over = f" (bars: 95% interval over {' or '.join(sorted(kinds))})" if kinds else ""
    axes.set_ylabel(column.replace("_", " ") + over)
    axes.grid(alpha=0.3)
    if len(families) > 1:
        axes.legend(fontsize="small")
    figure.tight_layout()
    tmp = path.with_name(f".{path.stem}.tmp.png")
    figure.savefig(tmp, dpi=110)
    plt.close(figure)
    os.replace(tmp, path)
    return path


def _is_nan(x: Any) -> bool:
    return isinstance(x, float) and math.isnan(x)
