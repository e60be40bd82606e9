"""`unclip summary`'s numbers for a whole graph, and how they are shown: a table and JSON."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Any, Literal

import torch

from ..errors import InputError
from ..graph import Graph
from ..registry import Registry
from .measure import StageCost, measure_stage
from .memory import GpuMemory, Strategy, memory_per_gpu
from .side_by_side import run_side_by_side
from .stages import graph_stages

Precision = Literal["bf16-mixed", "32-true"]
PRECISIONS: dict[str, torch.dtype | None] = {"bf16-mixed": torch.bfloat16, "32-true": None}  # -> autocast dtype
STRATEGIES = ("ddp", "fsdp")


@dataclass(frozen=True)
class SummaryOptions:
    precision: Precision
    strategy: Strategy
    devices: int  # GPUs in all
    batch: int | None  # items per GPU per step; None: each stage's own batch from the graph


@dataclass(frozen=True)
class StageSummary:
    name: str
    detail: str
    cost: StageCost
    memory: GpuMemory

    @property
    def label(self) -> str:
        return f"{self.name} ({self.detail})" if self.detail else self.name


@dataclass(frozen=True)
class Summary:
    config: str
    options: SummaryOptions
    accumulate: int  # trainer.accumulate_grad_batches
    stages: list[StageSummary]
    # The frozen encoder's forward per item, which a stage holding it runs when streamed (0: none held).
    encoder_flops_per_item: float


def resolve_options(
    graph: Graph, *, precision: str | None, strategy: str | None, devices: int | None, batch: int | None
) -> SummaryOptions:
    """The command's options, each defaulting to what the graph's trainer section says."""
    trainer = graph.trainer
    precision = precision or _precision_of(trainer.get("precision"))
    if precision not in PRECISIONS:
        raise InputError(f"--precision must be one of {', '.join(PRECISIONS)}, got '{precision}'")
    strategy = strategy or _strategy_of(trainer.get("strategy"))
    if strategy not in STRATEGIES:
        raise InputError(f"--strategy must be one of {', '.join(STRATEGIES)}, got '{strategy}'")
    for flag, value in (("--devices", devices), ("--batch", batch)):
        if value is not None and value < 1:
            raise InputError(f"{flag} must be a whole number of at least 1, got {value}")
    return SummaryOptions(precision, strategy, devices or _devices_of(trainer), batch)


def _precision_of(value: Any) -> str:
    """The graph's precision in the command's terms; `auto` is what a bf16-capable GPU runs."""
    name = str(value) if value is not None else "auto"
    known = {"auto": "bf16-mixed", "bf16-mixed": "bf16-mixed", "bf16": "bf16-mixed", "32-true": "32-true", "32": "32-true"}
    if name not in known:
        raise InputError(f"trainer.precision is '{name}'; summary models bf16-mixed and 32-true: pass --precision")
    return known[name]


def _strategy_of(value: Any) -> str:
    name = str(value) if value is not None else "auto"
    if name.startswith("fsdp"):
        return "fsdp"
    if name.startswith("ddp") or name in ("auto", "single_device"):
        return "ddp"  # one full copy of the model per GPU
    raise InputError(f"trainer.strategy is '{name}'; summary models ddp and fsdp: pass --strategy")


def _devices_of(trainer: dict[str, Any]) -> int:
    """GPUs in all: trainer.devices (a count, a list, or 'auto' for one) times trainer.num_nodes."""
    devices = trainer.get("devices", 1)
    if isinstance(devices, (list, tuple)):
        count = len(devices)
    elif isinstance(devices, int) or (isinstance(devices, str) and devices.isdigit()):
        count = max(int(devices), 1)
    else:
        count = 1
    nodes = trainer.get("num_nodes", 1)
    return count * (nodes if isinstance(nodes, int) and nodes > 0 else 1)


def stage_batch(graph: Graph, name: str, options: SummaryOptions) -> int:
    """Items per GPU per step: --batch, else train.<stage>.batch_size, else data.batch_size."""
    if options.batch is not None:
        return options.batch
    size = graph.train.for_stage(name).batch_size
    if size is None and graph.data is not None:
        size = getattr(graph.data.config, "batch_size", None)
    if size is None:
        raise InputError(f"stage {name} has no batch size: set train.{graph.train.section_of(name)}.batch_size or data.batch_size, or pass --batch N")
    return size


def summarize(graph: Graph, config: str, options: SummaryOptions, registry: Registry, processes: int = 1) -> Summary:
    """The graph's summary, its stages measured in up to `processes` processes at once."""
    stages = graph_stages(graph, registry)
    batches = [stage_batch(graph, stage.name, options) for stage in stages]  # all checked first
    # The frozen encoder's forward is the same wherever it is held: counted once, by the first holder.
    holder = next((i for i, stage in enumerate(stages) if stage.encoder_batch is not None), None)
    settings = [graph.train.for_stage(stage.name) for stage in stages]
    jobs = [
        partial(measure_stage, stage, batch, PRECISIONS[options.precision], count_encoder=i == holder,
                activation_checkpointing=stage_settings.activation_checkpointing)
        for i, (stage, batch, stage_settings) in enumerate(zip(stages, batches, settings))
    ]
    rows = [
        StageSummary(stage.name, stage.detail, cost,
                     memory_per_gpu(cost, strategy=options.strategy, devices=options.devices, ema=stage_settings.ema_decay is not None))
        for stage, stage_settings, cost in zip(stages, settings, run_side_by_side(jobs, processes))
    ]
    encoder_flops = max((row.cost.encoder_flops_per_item for row in rows), default=0.0)
    accumulate = graph.trainer.get("accumulate_grad_batches", 1)
    return Summary(config, options, accumulate if isinstance(accumulate, int) and accumulate > 0 else 1, rows, encoder_flops)


# ---- showing it ---------------------------------------------------------------------------
def render(summary: Summary) -> str:
    """A markdown table and the notes that say what its numbers include."""
    options = summary.options
    lines = [
        f"{summary.config}: {options.devices} GPU{'s' if options.devices > 1 else ''}, {options.strategy}, "
        f"{options.precision}; memory is per GPU for one training step",
        "",
        "| stage | trainable | frozen | GFLOP/image | batch/GPU | model state | activations | total |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for row in summary.stages:
        cost, memory = row.cost, row.memory
        lines.append(
            f"| {row.label} | {_count(cost.trainable_params)} | {_count(cost.frozen_params)} | "
            f"{_gflop(cost.flops_per_item / 1e9)} | {cost.batch} | {_size(memory.model_state)} | "
            f"{_size(memory.activations)} | {_size(memory.total)} |"
        )
    lines += ["", *_notes(summary)]
    return "\n".join(lines)


def _notes(summary: Summary) -> list[str]:
    options = summary.options
    global_batch = f"batch/GPU x {options.devices} GPU{'s' if options.devices > 1 else ''}" + (
        f" x {summary.accumulate} accumulated" if summary.accumulate > 1 else ""
    )
    notes = [
        f"- Images per optimizer step: {global_batch}.",
        "- GFLOP/image: forward and backward of one training step (torch.utils.flop_counter).",
    ]
    holding = [row for row in summary.stages if row.cost.frozen_params]
    if holding and summary.encoder_flops_per_item:
        names, several = " and ".join(row.name for row in holding), len(holding) > 1
        notes.append(
            f"  The {names} step{'s' if several else ''} take{'' if several else 's'} the frozen encoder's outputs as given "
            "(held on the device, or precomputed by `unclip embed`); streamed through a DataLoader, a step also runs "
            f"the encoder forward: +{_gflop(summary.encoder_flops_per_item / 1e9)} GFLOP/image."
        )
    shard = "FSDP divides all of it over the GPUs" if options.strategy == "fsdp" else "DDP keeps all of it on every GPU"
    notes += [
        "- Model state: every weight as stored (float32, frozen ones too), and for each trainable weight its gradient, "
        f"AdamW's two moments and the EMA copy (stages with train.<stage>.ema_decay set); {shard}.",
        "- Activations: the bytes autograd keeps for the backward pass at the batch shown, measured on a pretend GPU under "
        + ("CUDA's bf16 autocast (the bf16 weight copies autocast makes included)" if options.precision == "bf16-mixed" else "float32")
        + "; attention counted as a fused GPU kernel keeps it.",
    ]
    checkpointed = [row.name for row in summary.stages if row.cost.activation_checkpointing]
    if checkpointed:
        notes.append(
            f"  With activation checkpointing ({', '.join(checkpointed)}): what is kept outside the checkpointed blocks, "
            "every block's inputs, and the largest block's insides, which its backward pass recomputes."
        )
    plain = [row for row in summary.stages if not row.cost.activation_checkpointing]
    if plain:
        savings = ", ".join(f"{row.name} {_size(row.cost.checkpointed_activation_bytes)}" for row in plain)
        notes.append(f"  With train.<stage>.activation_checkpointing=true they would be: {savings}.")
    notes.append(
        "- Not counted: temporary buffers inside an operation, DDP's gradient buckets, the layer FSDP gathers at a time, "
        "the CUDA context and the allocator's slack."
    )
    return notes


def to_json(summary: Summary) -> dict[str, Any]:
    options = summary.options
    return {
        "config": summary.config,
        "precision": options.precision,
        "strategy": options.strategy,
        "devices": options.devices,
        "accumulate_grad_batches": summary.accumulate,
        "frozen_encoder_forward_gflop_per_image": summary.encoder_flops_per_item / 1e9,
        "stages": [
            {
                "stage": row.name,
                "detail": row.detail,
                "trainable_params": row.cost.trainable_params,
                "frozen_params": row.cost.frozen_params,
                "gflop_per_image": row.cost.flops_per_item / 1e9,
                "batch_per_gpu": row.cost.batch,
                "activation_checkpointing": row.cost.activation_checkpointing,
                "bytes_per_gpu": row.memory.to_dict(),
                "activation_bytes_per_gpu": {
                    "plain": row.cost.plain_activation_bytes, "checkpointed": row.cost.checkpointed_activation_bytes,
                },
            }
            for row in summary.stages
        ],
    }


def _count(n: int) -> str:
    if n == 0:
        return "0"
    if n >= 1e9:
        return f"{n / 1e9:.2f}B"
    return f"{n / 1e6:.1f}M" if n >= 1e6 else f"{n / 1e3:.1f}K"


def _gflop(value: float) -> str:
    return f"{value:,.1f}" if value >= 10 else f"{value:.3g}"


def _size(n: int) -> str:
    gib = n / 2**30
    return f"{gib:,.1f} GiB" if gib >= 1 else f"{n / 2**20:,.1f} MiB"
