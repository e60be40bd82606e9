"""Training the decoder: images and captions embedded by the run's frozen encoder."""

from __future__ import annotations

from pathlib import Path

import lightning as L
import torch
import torch.nn.functional as F
from torch import Tensor

from ..errors import ConfigError
from ..graph import Graph
from ..interfaces import Decoder, Encoder, TextEncoding
from .config import StageConfig
from .optim import adamw_with_warmup
from .stages import data_module, export_stage, load_run_pipeline
from .trainer import make_trainer, resume_path


def resize_images(images: Tensor, size: int) -> Tensor:
    """Square images at `size` (antialiased bicubic), clamped back into [-1, 1]."""
    if images.shape[-1] == size and images.shape[-2] == size:
        return images
    return F.interpolate(images, size=(size, size), mode="bicubic", antialias=True, align_corners=False).clamp(-1, 1)


class DecoderModule(L.LightningModule):
    """Trains `component` (a Decoder) on image-caption batches; the encoder stays frozen."""

    def __init__(self, decoder: Decoder, encoder: Encoder, settings: StageConfig) -> None:
        super().__init__()
        self.component = decoder
        self.encoder = encoder.requires_grad_(False).eval()
        self.settings = settings

    def train(self, mode: bool = True) -> DecoderModule:
        super().train(mode)
        self.encoder.eval()  # frozen: no dropout, whatever mode Lightning sets
        return self

    @torch.no_grad()
    def embed(self, batch) -> tuple[Tensor, Tensor, TextEncoding]:
        """(images at the decoder's size, z_i, caption encodings), all in float32."""
        images = batch["image"].float()
        z_i = self.encoder.encode_image(images).float()
        text = self.encoder.encode_text(self.encoder.tokenize(list(batch["caption"])).to(self.device))
        return resize_images(images, self.component.image_size), z_i, text.to(self.device, torch.float32)

    def training_step(self, batch, batch_idx: int) -> Tensor:
        images, z_i, text = self.embed(batch)
        loss = self.component.loss(images, z_i, text)
        self.log("train/loss", loss, prog_bar=True, batch_size=images.shape[0])
        return loss

    def validation_step(self, batch, batch_idx: int) -> None:
        images, z_i, text = self.embed(batch)
        self.log("val/loss", self.component.loss(images, z_i, text), batch_size=images.shape[0])

    def configure_optimizers(self):
        return adamw_with_warmup(self.component, self.settings)


def train_decoder(graph: Graph, data: L.LightningDataModule | None = None) -> Path:
    """Train the decoder against the run's encoder; returns the run's pipeline folder.

    `data` replaces the graph's `data:` section (e.g. an in-memory set in tests).
    """
    L.seed_everything(graph.seed, workers=True, verbose=False)
    pipeline = load_run_pipeline(graph)
    decoder = pipeline.components.decoder
    if decoder is None:
        raise ConfigError("training the decoder needs a `decoder:` section, e.g. decoder: {type: unet_decoder, ...}")
    module = DecoderModule(decoder, pipeline.components.encoder, graph.train.decoder)
    trainer, ema = make_trainer(graph, "decoder")
    trainer.fit(module, datamodule=data or data_module(graph, "decoder"), ckpt_path=resume_path(graph, "decoder"))
    if ema is not None:
        ema.apply(decoder)
    return export_stage(graph, pipeline, "decoder")
