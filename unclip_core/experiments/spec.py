"""The experiment file: a base model, axes of graph overrides, prompts, seeds and metrics.

Validated by pydantic; every error is one line naming the key, e.g.
`samplers.yaml: seeds.1: Input should be a valid integer (got 'x')`.
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from ..errors import ConfigError
from ..graph import SECTIONS as GRAPH_SECTIONS



class Experiment(BaseModel):
    """One comparison: every variant runs on the same prompts, seeds and metrics."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    model: str | None = Field(None, description="Base pipeline: a registered model name or a pipeline folder.")
    graph: str | None = Field(None, description="Base graph to train first (a YAML file or a name under configs/).")
    overrides: list[str] = Field([], description="Graph overrides every variant shares, key=value.")
    axes: dict[str, list[Any]] = Field(description="Graph key -> the values it takes, e.g. decoder.sampler.steps: [4, 8].")
    combine: Literal["product", "zip"] = Field("product", description="Every combination of axis values, or the i-th value of each.")
    variants: list[dict[str, Any]] = Field(
        [], description="More variants after the axes' combinations, each setting some of the axes (e.g. a baseline that takes no part in the product)."
    )
    settings_for: dict[str, list[str]] = Field(
        {}, description="Overrides that go with one axis value, 'axis=value' -> [key=value, ...]: settings only one type accepts (e.g. an option of one sampler)."
    )
    prompts: list[str] | str = Field(
        description="A list, a text file (one prompt a line), a data set split like shapes:val, or a list of splits [shapes:train, shapes:val]."
    )
    max_prompts: int | None = Field(None, ge=1, description="Use only the first N prompts (of each split, when several are listed).")
    seeds: list[int] = Field([0], min_length=1, description="Each seed generates every prompt once; metrics are averaged over seeds.")
    images_per_prompt: int = Field(1, ge=1)
    batch_size: int = Field(16, ge=1, description="Prompts per generate call.")
    metrics: list[str | dict[str, Any]] = Field(min_length=1, description="Metric names, or {type: name, option: value} sections.")
    device: str = Field("cpu", description="Where images are generated and measured: cpu, cuda, cuda:1, or auto.")
    grid_images: int = Field(64, ge=1, description="At most this many images of the first seed go into each variant's grid.png.")
    plot_x: str | None = Field(None, description="The axis plots use as x; default: the first axis whose key ends in 'steps'.")
    plot_pairs: list[tuple[str, str]] = Field(
        [], description="Columns [x, y] plotted against each other, a line per variant family through its plot_x values: "
        "a trade-off such as [clip_score, diversity_clip]."
    )
    baseline: dict[str, Any] | None = Field(
        None, description="The variant every other one is compared with prompt by prompt, by its axis values, e.g. "
        "{decoder.sampler.steps: 16}; it runs first. Default: the first variant."
    )

    @model_validator(mode="after")
    def _one_base(self) -> Experiment:
        if (self.model is None) == (self.graph is None):
            raise ValueError("give exactly one base: `model:` (a trained pipeline) or `graph:` (a config to train)")
        return self

    @field_validator("axes")
    @classmethod
    def _axes_have_values(cls, axes: dict[str, list[Any]]) -> dict[str, list[Any]]:
        if not axes:
            raise ValueError("name at least one axis, e.g. decoder.sampler.steps: [4, 8, 16]")
        for key, values in axes.items():
            if not values:
                raise ValueError(f"axis '{key}' has no values; list at least one")
            if "=" in key:
                raise ValueError(f"axis '{key}' should be a graph key such as decoder.sampler.steps, without '='")
        return axes

    @model_validator(mode="after")
    def _variants_set_axes(self) -> Experiment:
        for i, settings in enumerate(self.variants):
            if not settings:
                raise ValueError(f"variants.{i} sets nothing; give it at least one axis key and value")
            unknown = [key for key in settings if key not in self.axes]
            if unknown:
                raise ValueError(
                    f"variants.{i}: '{unknown[0]}' is not an axis; a variant sets axis keys only ({', '.join(self.axes)}), "
                    "so every column of the table means the same thing"
                )
        return self

    @model_validator(mode="after")
    def _baseline_sets_axes(self) -> Experiment:
        if self.baseline is not None:
            if not self.baseline:
                raise ValueError("baseline sets nothing; name the variant by its axis values, e.g. {decoder.sampler.steps: 16}")
            unknown = [key for key in self.baseline if key not in self.axes]
            if unknown:
                raise ValueError(f"baseline: '{unknown[0]}' is not an axis ({', '.join(self.axes)})")
        return self

    @model_validator(mode="after")
    def _settings_for_name_axis_values(self) -> Experiment:
        for condition, overrides in self.settings_for.items():
            key, sep, text = condition.partition("=")
            if not sep or key not in self.axes:
                raise ValueError(
                    f"settings_for: '{condition}' should name an axis and one of its values, e.g. {next(iter(self.axes))}=..."
                )
            listed = [*self.axes[key], *(v[key] for v in self.variants if key in v)]
            if not any(matches(value, text) for value in listed):
                raise ValueError(f"settings_for: '{condition}': {key} never takes the value '{text}' (it takes {listed})")
            for item in overrides:
                if "=" not in item:
                    raise ValueError(f"settings_for.{condition}: '{item}' must look like key=value, e.g. prior.components=24")
        return self

    def implied(self, settings: dict[str, Any]) -> list[str]:
        """The `settings_for` overrides a variant with these axis values also takes."""
        out: list[str] = []
        for condition, overrides in self.settings_for.items():
            key, _, text = condition.partition("=")
            if key in settings and matches(settings[key], text):
                out.extend(overrides)
        return out

    @field_validator("overrides")
    @classmethod
    def _overrides_are_assignments(cls, overrides: list[str]) -> list[str]:
        for item in overrides:
            if "=" not in item:
                raise ValueError(f"'{item}' must look like key=value, e.g. decoder.guidance_scale=2")
        return overrides

    @model_validator(mode="after")
    def _zip_lengths_agree(self) -> Experiment:
        lengths = {key: len(values) for key, values in self.axes.items()}
        if self.combine == "zip" and len(set(lengths.values())) > 1:
            listed = ", ".join(f"{k}: {n}" for k, n in lengths.items())
            raise ValueError(f"combine: zip pairs the i-th values of every axis, so each needs as many values ({listed})")
        if self.plot_x is not None and self.plot_x not in self.axes:
            raise ValueError(f"plot_x '{self.plot_x}' is not one of the axes ({', '.join(self.axes)})")
        return self

    @property
    def x_axis(self) -> str | None:
        """The axis plots put on x: `plot_x`, else the first axis that counts steps."""
        if self.plot_x is not None:
            return self.plot_x
        return next((key for key in self.axes if key.rsplit(".", 1)[-1] == "steps"), None)


def matches(value: Any, text: str) -> bool:
    """Whether an axis value is the one `text` names (`4` names 4, `abc` names 'abc')."""
    try:
        return yaml.safe_load(text) == value
    except yaml.YAMLError:
        return False


def load_experiment(path: str | Path, overrides: list[str] = ()) -> Experiment:
    """Read and validate an experiment file; `key=value` overrides change it first.

    An override whose key starts with a graph section (decoder.guidance_scale=2) joins the
    shared `overrides:` of every variant; `axes.KEY=[...]` replaces one axis; anything else
    replaces a top-level key of the file (seeds=[0,1], max_prompts=8).
    """
    file = Path(path)
    if not file.is_file():
        raise ConfigError(f"experiment file '{path}' not found")
    try:
        data = yaml.safe_load(file.read_text())
    except yaml.YAMLError as exc:
        raise ConfigError(f"{file}: not valid YAML ({exc})") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{file}: an experiment file is a YAML mapping with model: (or graph:), axes:, prompts:, metrics:")
    data = apply_overrides(data, overrides)
    # Relative paths in the file are relative to the file, so an experiment runs from anywhere.
    for key in ("graph", "model", "prompts"):
        value = data.get(key)
        if isinstance(value, str) and (file.parent / value).exists() and not Path(value).exists():
            data[key] = str(file.parent / value)
    return validate_experiment(data, str(file))


def apply_overrides(data: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    data = dict(data)
    for item in overrides:
        key, sep, text = item.partition("=")
        if not sep or not key:
            raise ConfigError(f"override '{item}' must look like key=value, e.g. seeds=[0,1] or decoder.sampler.steps=8")
        if key.split(".", 1)[0] in GRAPH_SECTIONS:
            data["overrides"] = [*(data.get("overrides") or []), item]
            continue
        try:
            value = yaml.safe_load(text) if text else None
        except yaml.YAMLError as exc:
            raise ConfigError(f"override '{item}': value is not valid YAML ({exc})") from None
        if key.startswith("axes."):
            data["axes"] = {**(data.get("axes") or {}), key.removeprefix("axes."): value}
        else:
            data[key] = value
    return data


def validate_experiment(data: dict[str, Any], source: str = "experiment") -> Experiment:
    try:
        return Experiment.model_validate(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(part) for part in error["loc"])
        if error["type"] == "extra_forbidden":
            close = difflib.get_close_matches(where, list(Experiment.model_fields), n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            raise ConfigError(f"{source}: unknown key '{where}'{hint}; keys: {', '.join(Experiment.model_fields)}") from None
        if error["type"] == "missing":
            raise ConfigError(f"{source}: missing key '{where}': {Experiment.model_fields[where].description}") from None
        message = error["msg"].removeprefix("Value error, ")
        prefix = f"{where}: " if where else ""
        raise ConfigError(f"{source}: {prefix}{message}") from None
