"""Training the upsamplers: each stage learns to_size images from their own downsampled copies."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import lightning as L
from lightning.pytorch.utilities import rank_zero_warn
from torch import Tensor

from ..errors import ConfigError
from ..graph import Graph
from ..images import resize
from ..interfaces import Upsampler
from .config import StageConfig
from .stage_module import StageModule
from .stages import data_module, export_stage, fit_stage, load_run_pipeline, missing_section


class UpsamplerModule(StageModule):
    """Trains `component` (an Upsampler); the stage makes and degrades its own low-res inputs."""

    stage = "upsampler"
    channels_last = True

    def __init__(self, upsampler: Upsampler, settings: StageConfig) -> None:
        super().__init__(upsampler, settings)

    def target_images(self, batch: dict[str, Any]) -> Tensor:
        return resize(self.images(batch), self.component.to_size)

    def step_loss(self, batch: dict[str, Any]) -> Tensor:
        return self.component.loss(self.target_images(batch))

    def validation_step(self, batch, batch_idx: int) -> None:
        images = self.target_images(batch)
        self.log("val/loss", self.component.loss(images), batch_size=images.shape[0], sync_dist=True)


def train_upsampler(graph: Graph, stage_index: int | None = None, data: L.LightningDataModule | None = None) -> Path:
    """Train upsampler `stage_index`, or every stage in order when it is None.

    Each stage checkpoints under run_dir/upsampler_<i> and is exported as upsampler_<i>.
    """
    if not graph.upsamplers:
        raise missing_section("upsamplers", "upsamplers", "upsampler")
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
    stage = f"upsampler_{index}"  # trains with train.upsampler_<index> where the graph has it
    module = UpsamplerModule(upsampler, graph.train.for_stage(stage))
    fit_stage(graph, "upsampler", module, data or data_module(graph, stage), directory=stage)
    return export_stage(graph, pipeline, stage)
