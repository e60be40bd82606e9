"""Running an experiment: the base, then every variant not yet finished, then tables and plots.

Layout of the output folder:
  experiment.yaml             the experiment as run (after command-line overrides)
  base/                       the base run, when the experiment trains one from `graph:`
  variants/<slug>/            per variant: record.json, grid.png
  trained/<key>/              a training run (pipeline/ and the trained stages), shared by every
                              variant that trains the same stages the same way
  results.csv  results.md     every finished variant, rewritten after each one
  plots/                      <metric>_vs_<x axis>.png, <metric>_vs_seconds.png, drawn at the end
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import yaml
from omegaconf import OmegaConf
from tqdm.auto import tqdm

from ..errors import ConfigError
from ..graph import Graph, build_section, graph_from_dict, load_graph
from ..image_output import grid, save_image, square_columns
from ..images import to_pil
from ..interfaces import Metric, Samples
from ..metrics import bootstrap_interval
from ..model_files import ModelFiles
from ..pipeline import Pipeline, resolve_model
from ..plugins import get_registry
from ..registry import Registry
from ..weights import CHECKSUM_FILE
from .measure import Usage, measured
from .plots import write_plots
from .prompts import PromptSet, load_prompts
from .records import RecordStore, fingerprint
from .retraining import prepare_run, stages_to_train, training_key
from .spec import Experiment
from .tables import COST_COLUMNS, write_csv, write_markdown
from .variants import Variant, expand_variants


@dataclass(frozen=True)
class Plan:
    """A variant, its resolved graph, and the stages it trains itself."""

    variant: Variant
    graph: Graph
    retrain: list[str]


@dataclass(frozen=True)
class Prepared:
    """A checked experiment, ready to generate: its base, prompts and one plan per variant."""

    base_source: str
    base_files: ModelFiles
    base_id: str
    prompts: PromptSet
    plans: list[Plan]


class Comparison:
    def __init__(self, experiment: Experiment, out: str | Path, *, progress: bool = True, log: Callable[[str], None] | None = None) -> None:
        self.experiment = experiment
        self.out = Path(out)
        self.progress = progress
        self.log = log or (lambda message: tqdm.write(message))
        self.registry: Registry = get_registry()
        self.metrics = build_metrics(experiment, self.registry)
        self.device = resolve_device(experiment.device)

    # ---- the whole run ------------------------------------------------------------------
    def prepare(self) -> Prepared:
        """Everything checked before the first image: the base, the prompts, what each metric
        needs, and every variant's graph. A `graph:` base is trained first (into OUT/base);
        a `model:` base writes nothing."""
        base_source, base_files, raw = self.base()
        base_id = base_identity(base_source, base_files)
        base_graph = graph_from_dict(OmegaConf.create(raw))
        prompts = load_prompts(self.experiment.prompts, base_graph, self.registry, self.experiment.max_prompts)
        check_metric_needs(self.metrics, prompts, base_graph, self.experiment.images_per_prompt)
        check_plot_pairs(self.experiment.plot_pairs, self.metrics)
        plans = [self.plan(variant, raw, base_graph, base_id) for variant in expand_variants(self.experiment)]
        return Prepared(base_source, base_files, base_id, prompts, plans)

    def run(self) -> list[dict[str, Any]]:
        """Run every unfinished variant; returns the records of all variants, in axis order."""
        ready = self.prepare()
        self.out.mkdir(parents=True, exist_ok=True)
        (self.out / "experiment.yaml").write_text(yaml.safe_dump(self.experiment.model_dump(mode="json"), sort_keys=False))
        store = RecordStore(self.out / "variants", self.fingerprint(ready.base_id, ready.prompts))
        records: dict[str, dict[str, Any]] = {}
        bar = tqdm(ready.plans, desc="variants", unit="variant", disable=not self.progress)
        for plan in bar:
            bar.set_postfix_str(plan.variant.label[:60])
            record = store.finished(plan.variant)
            if record is not None:
                self.log(f"[{plan.variant.label}] finished earlier; skipping")
            else:
                record = self.run_variant(plan, ready.base_source, ready.base_files, ready.prompts, store.variant_dir(plan.variant))
                store.save(plan.variant, record)
            records[plan.variant.label] = record
            self.write_tables(list(records.values()))
        # Plots once at the end: a figure per metric column costs more than a tiny variant.
        write_plots(list(records.values()), self.experiment.x_axis, self.out / "plots", self.experiment.plot_pairs)
        return list(records.values())

    def base(self) -> tuple[str, ModelFiles, Any]:
        """(what to load, its files, its pipeline.yaml as a config), training it first for `graph:`."""
        if self.experiment.graph is not None:
            from ..training.recipe import train_all

            run_dir = self.out / "base"
            graph = load_graph(self.experiment.graph, [*self.experiment.overrides, f"run_dir={run_dir}"])
            self.log(f"[base] training {self.experiment.graph} into {run_dir} (finished stages are skipped)")
            files = ModelFiles.of_folder(train_all(graph, log=self.log))
            source = str(files.folder)
        else:
            files = resolve_model(self.experiment.model)
            files.verify()
            source = str(self.experiment.model)
        raw = OmegaConf.load(files.graph_file)
        if files.path("encoder.safetensors").is_file():
            raw.encoder.pretrained = None  # as Pipeline.from_pretrained does: the folder's weights win
        return source, files, raw

    def plan(self, variant: Variant, raw: Any, base_graph: Graph, base_id: str) -> Plan:
        overrides = [*self.experiment.overrides, *variant.overrides]
        try:
            graph = graph_from_dict(OmegaConf.create(OmegaConf.to_container(raw)), overrides)
        except ConfigError as exc:
            raise ConfigError(f"axes: variant '{variant.label}' does not make a valid graph: {exc}") from None
        retrain = stages_to_train(base_graph, graph)
        if retrain:  # one run per distinct thing to train, shared by the variants that sample it differently
            key = training_key(base_id, graph, retrain)
            graph = graph_from_dict(OmegaConf.create(OmegaConf.to_container(raw)), [*overrides, f"run_dir={self.out / 'trained' / key}"])
        return Plan(variant, graph, retrain)

    def fingerprint(self, base_id: str, prompts: PromptSet) -> str:
        e = self.experiment
        return fingerprint({
            "base": base_id, "overrides": e.overrides, "settings_for": e.settings_for, "prompts": prompts.prompts,
            "references": prompts.references is not None, "seeds": e.seeds, "images_per_prompt": e.images_per_prompt,
            "batch_size": e.batch_size, "metrics": e.metrics, "device": str(self.device),
        })

    # ---- one variant --------------------------------------------------------------------
    def run_variant(self, plan: Plan, base_source: str, base_files: ModelFiles, prompts: PromptSet, folder: Path) -> dict[str, Any]:
        started = time.monotonic()
        pipeline = self.pipeline(plan, base_source, base_files)
        pipeline.to(self.device).eval()
        e = self.experiment
        usage, per_seed, ways = Usage(), [], {}
        per_image: dict[str, list[torch.Tensor]] = {}  # column -> one tensor a seed
        per_image_prompts = [p for p in prompts.prompts for _ in range(e.images_per_prompt)]
        references = None if prompts.references is None else prompts.references.repeat_interleave(e.images_per_prompt, 0)
        for index, seed in enumerate(e.seeds):
            images = self.generate(pipeline, prompts.prompts, seed, usage)
            if index == 0:
                shown = to_pil(images[: e.grid_images])
                folder.mkdir(parents=True, exist_ok=True)
                save_image(grid(shown, square_columns(len(shown))), folder / "grid.png")
            samples = Samples(per_image_prompts, images, pipeline.components.encoder, references, pipeline.components.prior, seed)
            scores: dict[str, float] = {}
            for metric in self.metrics:
                measured_scores, by_image = metric.measure_with_images(samples)
                ways.update({column: metric.direction(column) for column in measured_scores})
                scores.update(measured_scores)
                for column, values in by_image.items():
                    if values.shape != (len(images),):
                        raise ValueError(f"metric '{metric.name}' gave {tuple(values.shape)} values for '{column}'; "
                                         f"per_image gives one value per image ({len(images)})")
                    per_image.setdefault(column, []).append(values.detach().double().cpu())
            per_seed.append(scores)
        count = len(per_image_prompts) * len(e.seeds)
        means, spreads = _mean_and_std(per_seed)
        per_prompt = {column: _per_prompt(values, e.images_per_prompt) for column, values in per_image.items()}
        return {
            "settings": dict(plan.variant.settings),
            "metrics": means,
            "metrics_std": spreads if len(e.seeds) > 1 else {},
            # Over the prompts (each its mean over images and seeds): how far a column would move
            # for other prompts like these, and what paired differences between variants resample.
            "metrics_prompts_ci95": {column: list(bootstrap_interval(values, lambda r: r.mean(1))) for column, values in per_prompt.items()},
            "per_prompt": {column: values.tolist() for column, values in per_prompt.items()},
            "directions": ways,
            "seconds_per_image": usage.seconds / count,
            "peak_memory_mib": usage.peak_memory_mib,
            "images": count,
            "seeds": len(e.seeds),
            "trained": plan.retrain,
            "device": str(self.device),
            "seconds_total": round(time.monotonic() - started, 1),
            "finished_at": time.strftime("%Y-%m-%dT%H:%M:%S"),
        }

    def pipeline(self, plan: Plan, base_source: str, base_files: ModelFiles) -> Pipeline:
        if not plan.retrain:
            return Pipeline.from_pretrained(base_source, overrides=[*self.experiment.overrides, *plan.variant.overrides])
        from ..training.recipe import train_all

        self.log(f"[{plan.variant.label}] training {', '.join(plan.retrain)}; the other stages come from the base")
        prepare_run(base_files, plan.graph, plan.retrain)
        # The run may have been trained for another variant: this variant's sampling settings win.
        return Pipeline.from_pretrained(train_all(plan.graph, log=self.log), overrides=[*self.experiment.overrides, *plan.variant.overrides])

    def generate(self, pipeline: Pipeline, prompts: list[str], seed: int, usage: Usage) -> torch.Tensor:
        """Every prompt x images_per_prompt, in batches of batch_size prompts, from one seeded generator."""
        e = self.experiment
        generator = torch.Generator(self.device).manual_seed(seed)
        chunks = []
        for start in range(0, len(prompts), e.batch_size):
            batch = prompts[start : start + e.batch_size]
            with measured(self.device, usage):
                images = pipeline.generate(batch, num_images=e.images_per_prompt, generator=generator, progress=self.progress)
            chunks.append(images.float().cpu())
        return torch.cat(chunks)

    def write_tables(self, records: list[dict[str, Any]]) -> None:
        axes = list(self.experiment.axes)
        write_csv(records, axes, self.out / "results.csv")
        write_markdown(records, axes, self.out / "results.md", f"Results: {self.out.name}")


def build_metrics(experiment: Experiment, registry: Registry) -> list[Metric]:
    metrics = []
    for i, entry in enumerate(experiment.metrics):
        section = {"type": entry} if isinstance(entry, str) else dict(entry)
        metrics.append(build_section(f"metrics.{i}", "metric", section, registry))
    return metrics


def check_metric_needs(metrics: list[Metric], prompts: PromptSet, graph: Graph, images_per_prompt: int) -> None:
    """Fail before any generation when a metric cannot run on these prompts or this pipeline."""
    for i, metric in enumerate(metrics):
        if metric.needs_references and prompts.references is None:
            raise ConfigError(
                f"metrics.{i}: '{metric.name}' compares with true images, which a prompt list or file lacks; "
                "take prompts from a data set split (e.g. prompts: shapes:val) or drop the metric"
            )
        if metric.needs_prior and graph.prior is None:
            raise ConfigError(f"metrics.{i}: '{metric.name}' needs a prior and the base pipeline has none")
        if images_per_prompt < metric.min_images_per_prompt:
            raise ConfigError(
                f"metrics.{i}: '{metric.name}' compares the images of one prompt with each other and needs "
                f"images_per_prompt: {metric.min_images_per_prompt} or more (it is {images_per_prompt}); raise images_per_prompt"
            )


def check_plot_pairs(pairs: list[tuple[str, str]], metrics: list[Metric]) -> None:
    """Fail before any generation when a plotted column can come from none of the metrics (a
    metric's columns start with its name; the exact ones are known only once it has measured)."""
    for i, pair in enumerate(pairs):
        for column in pair:
            if column not in COST_COLUMNS and not any(column.startswith(metric.name) for metric in metrics):
                known = ", ".join([m.name for m in metrics] + sorted(COST_COLUMNS))
                raise ConfigError(f"plot_pairs.{i}: '{column}' is not a column of these metrics ({known}); name a column a metric reports")


def base_identity(source: str, files: ModelFiles) -> str:
    """The base's name and a digest of its weights' checksums. Records and training runs are
    keyed by it, so new weights under the same name (a registered model updated in place) are
    measured again instead of being reused from the old weights' run."""
    return f"{source}@{fingerprint(files.checksums())}" if (files.folder / CHECKSUM_FILE).is_file() else source


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise ConfigError(f"device: '{name}' is not a device; use cpu, cuda, cuda:N or auto") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError("device: cuda was asked for but no CUDA GPU is visible; use device: cpu (or auto)")
    return device


def _per_prompt(per_seed: list[torch.Tensor], images_per_prompt: int) -> torch.Tensor:
    """Each prompt's mean over its images and every seed (images are prompt-major)."""
    values = torch.stack(per_seed)
    return values.view(len(per_seed), -1, images_per_prompt).mean((0, 2))


def _mean_and_std(per_seed: list[dict[str, float]]) -> tuple[dict[str, float], dict[str, float]]:
    columns = list(dict.fromkeys(c for scores in per_seed for c in scores))
    means, spreads = {}, {}
    for column in columns:
        values = torch.tensor([s[column] for s in per_seed if column in s], dtype=torch.float64)
        means[column] = values.mean().item()
        spreads[column] = values.std(unbiased=True).item() if len(values) > 1 else 0.0
    return means, spreads

