"""results.csv (every number) and results.md (the table, sorted by the first metric, best bolded)."""

from __future__ import annotations

import csv
import io
import math
import os
from pathlib import Path
from typing import Any

from .paired import markdown_section

# Columns every record has, whichever metrics ran; both are better low.
COST_COLUMNS = {"seconds_per_image": "lower", "peak_memory_mib": "lower"}

# Student's t at 0.975 for 1-30 degrees of freedom: the 95% interval of a mean of few seeds is
# wide (3 seeds: 4.30 standard errors, not 1.96).
T_975 = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160, 2.145, 2.131,
         2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042]


def interval(record: dict[str, Any], column: str) -> float | None:
    """Half-width of the 95% confidence interval of the column's mean over the record's seeds."""
    spread, seeds = record.get("metrics_std", {}).get(column), record.get("seeds", 1)
    if spread is None or seeds < 2:
        return None
    t = T_975[seeds - 2] if seeds - 1 <= len(T_975) else 1.96
    return t * spread / math.sqrt(seeds)


def metric_columns(records: list[dict[str, Any]]) -> list[str]:
    """Metric columns in the order they first appear."""
    columns: list[str] = []
    for record in records:
        columns += [c for c in record["metrics"] if c not in columns]
    return columns


def directions(records: list[dict[str, Any]]) -> dict[str, str | None]:
    found: dict[str, str | None] = dict(COST_COLUMNS)
    for record in records:
        found.update(record.get("directions", {}))
    return found


def value(record: dict[str, Any], column: str) -> float:
    if column in COST_COLUMNS:
        return record[column]
    return record["metrics"].get(column, math.nan)


def sorted_records(records: list[dict[str, Any]], axes: list[str]) -> list[dict[str, Any]]:
    """Best first by the first metric with a direction; variants without it last."""
    ways = directions(records)
    key_column = next((c for c in metric_columns(records) if ways.get(c)), "seconds_per_image")
    sign = -1 if ways[key_column] == "higher" else 1

    def key(record: dict[str, Any]) -> tuple[bool, float]:
        number = value(record, key_column)
        return (math.isnan(number), sign * number if not math.isnan(number) else 0.0)

    return sorted(records, key=key)


def write_csv(records: list[dict[str, Any]], axes: list[str], path: Path) -> Path:
    columns = metric_columns(records)
    with_std = any(record.get("metrics_std") for record in records)
    spreads = ([f"{c}_std" for c in columns] + [f"{c}_ci95" for c in columns]) if with_std else []
    over_prompts = [c for c in columns if any(c in record.get("metrics_prompts_ci95", {}) for record in records)]
    bounds = [f"{c}_prompts_ci95_{end}" for c in over_prompts for end in ("low", "high")]
    header = [*axes, *columns, *spreads, *bounds, *COST_COLUMNS, "images", "trained"]
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    for record in sorted_records(records, axes):
        row = [record["settings"].get(a, "") for a in axes]
        row += [value(record, c) for c in columns]
        if with_std:
            row += [record.get("metrics_std", {}).get(c, "") for c in columns]
            row += [_blank_if_none(interval(record, c)) for c in columns]
        row += [bound for c in over_prompts for bound in record.get("metrics_prompts_ci95", {}).get(c, ["", ""])]
        row += [record[c] for c in COST_COLUMNS] + [record["images"], " ".join(record["trained"])]
        writer.writerow(row)
    return _write(path, buffer.getvalue())


def write_markdown(records: list[dict[str, Any]], axes: list[str], path: Path, title: str) -> Path:
    """The table, best first; then, where metrics give per-image values, each variant against the
    first (in `records`' order) prompt by prompt."""
    columns = [*metric_columns(records), *COST_COLUMNS]
    ways = directions(records)
    best = {c: _best(records, c, ways.get(c)) for c in columns}
    rows = []
    for record in sorted_records(records, axes):
        cells = [str(record["settings"].get(a, "—")) for a in axes]
        for column in columns:
            text = _number(value(record, column))
            spread = interval(record, column)
            if spread is not None:
                text += f" ± {_number(spread)}"
            if best[column] is not None and value(record, column) == best[column]:
                text = f"**{text}**"
            cells.append(text)
        cells.append(", ".join(record["trained"]) or "—")
        rows.append(cells)
    header = [*axes, *columns, "trained"]
    lines = [f"# {title}", "", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cells) + " |" for cells in rows]
    seeds = max((record.get("seeds", 1) for record in records), default=1)
    notes = [f"{len(records)} variants; best of each column in bold; — is an axis a variant leaves at the base's value."]
    if seeds > 1:
        notes.append(f"Metrics are means over {seeds} seeds ± the half-width of their 95% confidence interval (Student's t; "
                     "results.csv also has the standard deviation).")
    notes.append("`trained`: stages this variant trained itself; the others are the base model's.")
    if any(record.get("metrics_prompts_ci95") for record in records):
        notes.append("results.csv also has, per column measured image by image, its 95% interval over the prompts "
                     "(`_prompts_ci95_low`, `_high`): how far it would move for other prompts like these.")
    paired = markdown_section(records, axes, lambda x: f"{x:.2g}")  # differences: two digits are all they carry
    return _write(path, "\n".join([*lines, "", *notes, *([""] + paired if paired else []), ""]))


def _best(records: list[dict[str, Any]], column: str, direction: str | None) -> float | None:
    numbers = [value(r, column) for r in records if not math.isnan(value(r, column))]
    if direction is None or len(set(numbers)) < 2:  # nothing to single out when every value ties
        return None
    return max(numbers) if direction == "higher" else min(numbers)


def _blank_if_none(x: float | None) -> float | str:
    return "" if x is None else x


def _number(x: float) -> str:
    if isinstance(x, float) and math.isnan(x):
        return "—"
    return f"{x:.4g}"


def _write(path: Path, text: str) -> Path:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)
    return path
