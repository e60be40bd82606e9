"""Training the upsamplers: each stage learns to_size images from their own downsampled copies."""

from __future__ import annotations

from pathlib import Path

import lightning as L
from lightning.pytorch.utilities import rank_zero_warn
from torch import Tensor

from ..errors import ConfigError
from ..graph import Graph
from ..interfaces import Upsampler
from .config import StageConfig
from .decoder import resize_images
from .optim import adamw_with_warmup
from .stages import data_module, export_stage, load_run_pipeline
from .trainer import make_trainer, resume_path


class UpsamplerModule(L.LightningModule):
    """Trains `component` (an Upsampler); the stage makes and degrades its own low-res inputs."""

    def __init__(self, upsampler: Upsampler, settings: StageConfig) -> None:
        super().__init__()
        self.component = upsampler
        self.settings = settings

    def images(self, batch) -> Tensor:
        return resize_images(batch["image"].float(), self.component.to_size)

    def training_step(self, batch, batch_idx: int) -> Tensor:
        images = self.images(batch)
        loss = self.component.loss(images)
        self.log("train/loss", loss, prog_bar=True, batch_size=images.shape[0])
        return loss

    def validation_step(self, batch, batch_idx: int) -> None:
        images = self.images(batch)
        self.log("val/loss", self.component.loss(images), batch_size=images.shape[0])

    def configure_optimizers(self):
        return adamw_with_warmup(self.component, self.settings)


def train_upsampler(graph: Graph, stage_index: int | None = None, data: L.LightningDataModule | None = None) -> Path:
    """Train upsampler `stage_index`, or every stage in order when it is None.

    Each stage checkpoints under run_dir/upsampler_<i> and is exported as upsampler_<i>.
    """
    if not graph.upsamplers:
        raise ConfigError("training upsamplers needs an `upsamplers:` list, e.g. upsamplers: [{type: unet_upsampler, ...}]")
    indices = range(len(graph.upsamplers)) if stage_index is None else [stage_index]
    if stage_index is not None and not 0 <= stage_index < len(graph.upsamplers):
        raise ConfigError(f"upsampler stage {stage_index} does not exist; the graph has {len(graph.upsamplers)} (0-based)")
    folder = None
    for index in indices:
        folder = _train_stage(graph, index, data)
    return folder


def _train_stage(graph: Graph, index: int, data: L.LightningDataModule | None) -> Path:
    L.seed_everything(graph.seed + index, workers=True, verbose=False)
    pipeline = load_run_pipeline(graph)
    upsampler = pipeline.components.upsamplers[index]
    if graph.data is not None and getattr(graph.data.config, "image_size", upsampler.to_size) < upsampler.to_size:
        rank_zero_warn(
            f"upsampler {index} outputs {upsampler.to_size}px but data.image_size is "
            f"{graph.data.config.image_size}: it will learn from upscaled images; set data.image_size={upsampler.to_size}"
        )
    module = UpsamplerModule(upsampler, graph.train.upsampler)
    stage = f"upsampler_{index}"
    trainer, ema = make_trainer(graph, "upsampler", directory=stage)
    trainer.fit(module, datamodule=data or data_module(graph, "upsampler"), ckpt_path=resume_path(graph, stage))
    if ema is not None:
        ema.apply(upsampler)
    return export_stage(graph, pipeline, stage)
