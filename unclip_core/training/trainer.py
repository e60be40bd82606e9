"""A Lightning Trainer for one stage, from the graph's `trainer:` and `train.<stage>:` sections."""

from __future__ import annotations

import logging
import time
import zipfile
from pathlib import Path
from typing import Any

import lightning as L
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.loggers import CSVLogger, TensorBoardLogger
from torch import nn

from ..errors import ConfigError
from ..graph import Graph
from .config import StageConfig
from .distributed import is_main_process
from .ema import EMA
from .sharding import ShardedDataParallel, cannot_shard

LOGGERS = {"csv": CSVLogger, "tensorboard": TensorBoardLogger}
log = logging.getLogger("unclip.training")


def stage_dir(graph: Graph, stage: str) -> Path:
    return Path(graph.run_dir) / stage


def make_trainer(
    graph: Graph, stage: str, callbacks: list[L.Callback] = (), directory: str | None = None,
    component: nn.Module | None = None,
) -> tuple[L.Trainer, EMA | None]:
    """Checkpoints every N steps into run_dir/<directory or stage>/checkpoints (with `last.ckpt`
    for resume). `directory` separates stages that share settings, e.g. upsampler_0, upsampler_1.
    `component`, the module the stage trains, decides whether `trainer.strategy: fsdp` can shard it."""
    settings: StageConfig = graph.train.for_stage(directory or stage)
    kwargs: dict[str, Any] = dict(graph.trainer)
    root = stage_dir(graph, directory or stage)
    if settings.max_steps is not None:
        kwargs["max_steps"] = settings.max_steps
    if settings.max_time is not None:  # whichever of max_steps and max_time comes first ends the stage
        kwargs["max_time"] = settings.max_time
    kwargs.setdefault("max_steps", 1000)
    strategy = str(kwargs.get("strategy", "auto"))
    if strategy == "fsdp":
        unshardable = component is not None and cannot_shard(component)
        if unshardable and is_main_process():
            log.warning(f"{stage}: {unshardable}; this stage trains replicated (ddp) instead")
        kwargs["strategy"] = "ddp" if unshardable else ShardedDataParallel()
    elif "fsdp" in strategy.lower():  # Lightning's own FSDP variants export one shard, and refuse CPUs
        raise ConfigError(f"trainer.strategy={strategy}: unknown sharded strategy; use trainer.strategy=fsdp")
    if kwargs.get("precision", "auto") == "auto":
        kwargs["precision"] = auto_precision(str(kwargs.get("accelerator", "auto")))
    kwargs.setdefault("default_root_dir", str(root))
    logger = kwargs.pop("logger", "csv")
    if isinstance(logger, str):
        if logger not in LOGGERS:
            raise ConfigError(f"trainer.logger: unknown logger '{logger}'; use one of {', '.join(LOGGERS)} or false")
        logger = LOGGERS[logger](save_dir=str(root), name="logs")
    ema = EMA(settings.ema_decay) if settings.ema_decay is not None else None
    # No version counter: last.ckpt is rewritten in place (CheckpointByTime writes it too).
    checkpoint = ModelCheckpoint(
        dirpath=root / "checkpoints", every_n_train_steps=settings.checkpoint_every_n_steps, save_last=True,
        enable_version_counter=False,
    )
    timed = [CheckpointByTime(root / "checkpoints" / "last.ckpt", settings.checkpoint_every_minutes)] if settings.checkpoint_every_minutes else []
    all_callbacks = [checkpoint, *timed, *callbacks, *([ema] if ema else [])]
    trainer = L.Trainer(logger=logger, callbacks=all_callbacks, **kwargs)
    return trainer, ema


class CheckpointByTime(L.Callback):
    """Rewrites `last.ckpt` once `minutes` have passed since the last save, so a kill on a slow
    device loses minutes, not a thousand steps. The clock is read on logging steps only, and rank
    0's reading is broadcast, so every process saves at the same step and no other step waits."""

    def __init__(self, path: Path, minutes: float) -> None:
        self.path = path
        self.seconds = 60.0 * minutes
        self.last_save = time.monotonic()

    def on_train_batch_end(self, trainer: L.Trainer, pl_module: L.LightningModule, outputs: Any, batch: Any, batch_idx: int) -> None:
        if trainer.global_step % max(trainer.log_every_n_steps, 1):
            return
        if trainer.strategy.broadcast(time.monotonic() - self.last_save >= self.seconds):
            trainer.save_checkpoint(self.path)
            self.last_save = time.monotonic()

    def on_save_checkpoint(self, trainer: L.Trainer, pl_module: L.LightningModule, checkpoint: dict[str, Any]) -> None:
        self.last_save = time.monotonic()  # a save by steps restarts the clock too


def auto_precision(accelerator: str) -> str:
    """`precision: auto` (the default): bf16 autocast on GPUs that have it, float32 elsewhere."""
    import torch

    on_gpu = accelerator in ("gpu", "cuda", "auto") and torch.cuda.is_available()
    return "bf16-mixed" if on_gpu and torch.cuda.is_bf16_supported() else "32-true"


def resume_path(graph: Graph, stage: str) -> str | None:
    """The newest readable checkpoint of an interrupted run of this stage (normally `last.ckpt`),
    if any. One that cannot be read (a disk that filled up, a copy cut short) is passed over with
    a warning naming it; when none can be read, the stage stops rather than start over unasked."""
    folder = stage_dir(graph, stage) / "checkpoints"
    # Newest first; last.ckpt first among equals, as the one every save rewrites.
    found = sorted(folder.glob("*.ckpt"), key=lambda p: (p.stat().st_mtime_ns, p.name == "last.ckpt"), reverse=True)
    first_problem = None  # why the newest one cannot be read, said once
    for path in found:
        problem = unreadable(path)
        if problem is None:
            if path != found[0]:
                log.warning(f"checkpoint {found[0]} cannot be read ({first_problem}); resuming from {path.name}, the newest readable one")
            return str(path)
        first_problem = first_problem or problem
    if found:
        raise ConfigError(
            f"no checkpoint in {folder} can be read ({found[0].name}: {first_problem}); "
            f"delete {folder} to train the stage from the start"
        )
    return None


def unreadable(path: Path) -> str | None:
    """Why a checkpoint file cannot be read, or None when every entry of it checks out.

    torch.save writes a zip archive: its CRCs catch a file cut short or damaged, without
    unpickling anything."""
    try:
        with zipfile.ZipFile(path) as archive:
            damaged = archive.testzip()
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        return str(exc) or type(exc).__name__
    return None if damaged is None else f"entry {damaged} is damaged"
