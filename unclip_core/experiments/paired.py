"""Paired differences between variants: each variant against the baseline, prompt by prompt.

The baseline is the experiment's `baseline:` variant, or else its first; it runs first, so it
is the first record.

Every variant of an experiment is measured on the same prompts, so a column that a metric gives
per image (`Metric.per_image`) can be compared prompt by prompt. The prompts' own difficulty is
then shared by both sides and cancels: a difference is judged at a fraction of the width that the
two variants' own intervals, side by side, would suggest.
"""

from __future__ import annotations

from typing import Any

import torch

from ..metrics import bootstrap_interval


def paired_columns(records: list[dict[str, Any]]) -> list[str]:
    """Columns every record has per prompt, in the order they first appear."""
    if not records:
        return []
    shared = set.intersection(*(set(record.get("per_prompt", {})) for record in records))
    return [column for column in records[0].get("per_prompt", {}) if column in shared]


def paired_difference(base: dict[str, Any], other: dict[str, Any], column: str) -> tuple[float, float, float] | None:
    """(other - base, and its 95% paired bootstrap interval over the prompts); None when the two
    were measured on different numbers of prompts."""
    before, after = (torch.tensor(record["per_prompt"][column], dtype=torch.float64) for record in (base, other))
    if len(before) != len(after) or len(before) == 0:
        return None
    pair = torch.stack([before, after], dim=-1)
    low, high = bootstrap_interval(pair, lambda r: r[..., 1].mean(1) - r[..., 0].mean(1))
    return round((after - before).mean().item(), 12) + 0.0, low, high


def markdown_section(records: list[dict[str, Any]], axes: list[str], number: Any) -> list[str]:
    """The results.md section: a row per variant after the first (the baseline), a cell per paired column."""
    columns = paired_columns(records)
    if len(records) < 2 or not columns:
        return []
    base = records[0]
    label = ", ".join(f"{key}={value}" for key, value in base["settings"].items()) or "the first variant"
    lines = [f"## Against {label}, prompt by prompt", "",
             "| " + " | ".join([*axes, *columns]) + " |", "|" + "---|" * (len(axes) + len(columns))]
    for record in records[1:]:
        cells = [str(record["settings"].get(a, "—")) for a in axes]
        for column in columns:
            found = paired_difference(base, record, column)
            if found is None:
                cells.append("—")
                continue
            difference, low, high = found
            clear = "" if low <= 0 <= high else " *"
            cells.append(f"{_signed(difference, number)} [{_signed(low, number)}, {_signed(high, number)}]{clear}")
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", f"Each cell: this variant minus {label}, over the same {len(base['per_prompt'][columns[0]])} prompts "
              "(each prompt's mean over its images and seeds), with the 95% paired bootstrap interval; * marks an interval "
              "that excludes 0, a difference these prompts can tell."]
    return lines


def _signed(x: float, number: Any) -> str:
    text = number(x)
    return text if text.startswith("-") else f"+{text}"
