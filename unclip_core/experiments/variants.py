"""Variants: one setting of every axis, as graph overrides, with a stable folder name."""

from __future__ import annotations

import hashlib
import itertools
import json
import re
from dataclasses import dataclass
from typing import Any

import yaml

from ..errors import ConfigError
from .spec import Experiment


@dataclass(frozen=True)
class Variant:
    """Axis key -> value, in the order the experiment lists its axes; an extra variant may set only some.

    `implied` are the experiment's `settings_for` overrides that go with these values: they shape
    the graph but are not columns of the table, so the label leaves them out.
    """

    settings: tuple[tuple[str, Any], ...]
    implied: tuple[str, ...] = ()

    @property
    def overrides(self) -> list[str]:
        return [*self.axis_overrides, *self.implied]

    @property
    def axis_overrides(self) -> list[str]:
        return [f"{key}={format_value(value)}" for key, value in self.settings]

    @property
    def label(self) -> str:
        return " ".join(self.axis_overrides)

    @property
    def slug(self) -> str:
        """A folder name: the values, readable, plus a hash of the full label so no two collide."""
        values = "-".join(format_value(value) for _, value in self.settings)
        readable = re.sub(r"[^A-Za-z0-9._-]+", "_", values)[:60].strip("_") or "variant"
        digest = hashlib.sha256(self.label.encode()).hexdigest()[:8]
        return f"{readable}-{digest}"

    def value(self, key: str) -> Any:
        return dict(self.settings).get(key)

    def family(self, leave_out: str | None) -> str:
        """The settings of every axis except `leave_out`: one plotted line joins a family's points."""
        rest = [f"{key}={format_value(v)}" for key, v in self.settings if key != leave_out]
        return ", ".join(rest) or "all"


def expand_variants(experiment: Experiment) -> list[Variant]:
    keys = list(experiment.axes)
    columns = [experiment.axes[key] for key in keys]
    rows = itertools.product(*columns) if experiment.combine == "product" else zip(*columns)
    combinations = [tuple(zip(keys, row)) for row in rows]
    extra = [tuple((key, settings[key]) for key in keys if key in settings) for settings in experiment.variants]
    variants, seen = [], set()
    for settings in [*combinations, *extra]:
        variant = Variant(settings, tuple(experiment.implied(dict(settings))))
        if variant.label not in seen:  # a value listed twice is one variant, run once
            seen.add(variant.label)
            variants.append(variant)
    return baseline_first(variants, experiment.baseline)


def baseline_first(variants: list[Variant], baseline: dict[str, Any] | None) -> list[Variant]:
    """The variants with the one `baseline` names first: the others are compared with it."""
    if baseline is None:
        return variants
    named = [v for v in variants if baseline.items() <= dict(v.settings).items()]
    wanted = " ".join(f"{key}={format_value(value)}" for key, value in baseline.items())
    if not named:
        raise ConfigError(f"baseline: no variant has {wanted}; the variants are: {'; '.join(v.label for v in variants)}")
    if len(named) > 1:
        raise ConfigError(f"baseline: {len(named)} variants have {wanted} ({'; '.join(v.label for v in named)}); "
                          "add axis values until it names one")
    return [named[0], *(v for v in variants if v is not named[0])]


def format_value(value: Any) -> str:
    """The override text for `value`: parses back (as YAML) to the same value."""
    if isinstance(value, str) and yaml.safe_load(value) == value and "=" not in value:
        return value
    return json.dumps(value)

