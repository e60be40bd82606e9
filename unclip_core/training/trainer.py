"""A Lightning Trainer for one stage, from the graph's `trainer:` and `train.<stage>:` sections."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import lightning as L
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.loggers import CSVLogger, TensorBoardLogger

from ..errors import ConfigError
from ..graph import Graph
from .config import StageConfig
from .ema import EMA

LOGGERS = {"csv": CSVLogger, "tensorboard": TensorBoardLogger}


def stage_dir(graph: Graph, stage: str) -> Path:
    return Path(graph.run_dir) / stage


def make_trainer(
    graph: Graph, stage: str, callbacks: list[L.Callback] = (), directory: str | None = None
) -> tuple[L.Trainer, EMA | None]:
    """Checkpoints every N steps into run_dir/<directory or stage>/checkpoints (with `last.ckpt`
    for resume). `directory` separates stages that share settings, e.g. upsampler_0, upsampler_1."""
    settings: StageConfig = getattr(graph.train, stage)
    kwargs: dict[str, Any] = dict(graph.trainer)
    root = stage_dir(graph, directory or stage)
    if settings.max_steps is not None:
        kwargs["max_steps"] = settings.max_steps
    if settings.max_time is not None:  # whichever of max_steps and max_time comes first ends the stage
        kwargs["max_time"] = settings.max_time
    kwargs.setdefault("max_steps", 1000)
    if kwargs.get("precision", "auto") == "auto":
        kwargs["precision"] = auto_precision(str(kwargs.get("accelerator", "auto")))
    kwargs.setdefault("default_root_dir", str(root))
    logger = kwargs.pop("logger", "csv")
    if isinstance(logger, str):
        if logger not in LOGGERS:
            raise ConfigError(f"trainer.logger: unknown logger '{logger}'; use one of {', '.join(LOGGERS)} or false")
        logger = LOGGERS[logger](save_dir=str(root), name="logs")
    ema = EMA(settings.ema_decay) if settings.ema_decay is not None else None
    checkpoint = ModelCheckpoint(
        dirpath=root / "checkpoints", every_n_train_steps=settings.checkpoint_every_n_steps, save_last=True
    )
    all_callbacks = [checkpoint, *callbacks, *([ema] if ema else [])]
    trainer = L.Trainer(logger=logger, callbacks=all_callbacks, **kwargs)
    return trainer, ema


def auto_precision(accelerator: str) -> str:
    """`precision: auto` (the default): bf16 autocast on GPUs that have it, float32 elsewhere."""
    import torch

    on_gpu = accelerator in ("gpu", "cuda", "auto") and torch.cuda.is_available()
    return "bf16-mixed" if on_gpu and torch.cuda.is_bf16_supported() else "32-true"


def resume_path(graph: Graph, stage: str) -> str | None:
    """`last.ckpt` of an interrupted run of this stage, if any."""
    last = stage_dir(graph, stage) / "checkpoints" / "last.ckpt"
    return str(last) if last.is_file() else None
