"""Training the decoder: images and captions embedded by the run's frozen encoder."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import lightning as L
import torch
from torch import Tensor

from ..graph import Graph
from ..images import resize
from ..interfaces import Decoder, Encoder, TextEncoding
from .config import StageConfig
from .stage_module import StageModule, precomputed_text
from .stages import data_module, export_stage, fit_stage, load_run_pipeline, missing_section


class DecoderModule(StageModule):
    """Trains `component` (a Decoder) on image-caption batches; the encoder stays frozen."""

    stage = "decoder"
    channels_last = True

    def __init__(self, decoder: Decoder, encoder: Encoder, settings: StageConfig) -> None:
        super().__init__(decoder, settings, encoder=encoder)

    @torch.no_grad()
    def embed(self, batch: dict[str, Any]) -> tuple[Tensor, Tensor, TextEncoding]:
        """(images at the decoder's size, z_i, caption encodings), all in float32."""
        images = self.images(batch)
        if "image_embedding" in batch:  # the frozen encoder's outputs, computed once (frozen_features)
            z_i, text = batch["image_embedding"].float(), precomputed_text(batch)
        else:
            z_i = self.encoder.encode_image(images).float()
            text = self.encoder.encode_text(self.tokens(batch)).to(self.device, torch.float32)
        return resize(images, self.component.image_size), z_i, text

    def frozen_features(self, batch: dict[str, Any]) -> dict[str, Tensor] | None:
        return self.encoder_features(batch) if "tokens" in batch else None

    def step_loss(self, batch: dict[str, Any]) -> Tensor:
        return self.component.loss(*self.embed(batch))

    def validation_step(self, batch, batch_idx: int) -> None:
        images, z_i, text = self.embed(batch)
        self.log("val/loss", self.component.loss(images, z_i, text), batch_size=images.shape[0], sync_dist=True)


def train_decoder(graph: Graph, data: L.LightningDataModule | None = None) -> Path:
    """Train the decoder against the run's encoder; returns the run's pipeline folder.

    `data` replaces the graph's `data:` section (e.g. an in-memory set in tests).
    """
    L.seed_everything(graph.seed, workers=True, verbose=False)
    pipeline = load_run_pipeline(graph)
    decoder = pipeline.components.decoder
    if decoder is None:
        raise missing_section("decoder", "decoder", "decoder")
    encoder = pipeline.components.encoder
    module = DecoderModule(decoder, encoder, graph.train.decoder)
    fit_stage(graph, "decoder", module, data or data_module(graph, "decoder", tokenizer=encoder.tokenize))
    return export_stage(graph, pipeline, "decoder")
