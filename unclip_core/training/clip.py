"""Contrastive training of the encoder, so the CLIP used everywhere is a real trained one."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import lightning as L
import torch
import torch.nn.functional as F
from torch import Tensor

from ..graph import Graph
from ..interfaces import Encoder
from ..metrics import chance_retrieval, retrieval_accuracy
from .config import StageConfig
from .stage_module import StageModule
from .stages import data_module, export_stage, fit_stage, load_run_pipeline


def contrastive_loss(image_embeddings: Tensor, text_embeddings: Tensor, logit_scale: Tensor, caption_ids: Tensor) -> Tensor:
    """Symmetric InfoNCE. Pairs with identical captions (equal `caption_ids`) are all positives."""
    logits = logit_scale * image_embeddings @ text_embeddings.T
    same = (caption_ids[:, None] == caption_ids[None, :]).to(logits.dtype)
    targets = same / same.sum(-1, keepdim=True)
    return (F.cross_entropy(logits, targets) + F.cross_entropy(logits.T, targets)) / 2


def caption_ids(captions: list[str], device: torch.device) -> Tensor:
    """One integer per distinct caption, so equal captions compare equal as tensors."""
    index: dict[str, int] = {}
    return torch.tensor([index.setdefault(c, len(index)) for c in captions], device=device)


class CLIPModule(StageModule):
    """Trains `component` (an Encoder) on image-caption batches."""

    stage = "clip"

    def __init__(self, encoder: Encoder, settings: StageConfig) -> None:
        super().__init__(encoder, settings)
        self._val_images: list[Tensor] = []
        self._val_texts: list[Tensor] = []
        self._val_captions: list[str] = []

    def encoder_for_tokens(self) -> Encoder:
        return self.component

    def _embed(self, batch: dict[str, Any]) -> tuple[Tensor, Tensor]:
        text = self.component.encode_text(self.tokens(batch)).embedding
        image = self.component.encode_image(self.images(batch))
        return image, text

    def _caption_ids(self, batch: dict[str, Any]) -> Tensor:
        return batch["caption_id"] if "caption_id" in batch else caption_ids(list(batch["caption"]), self.device)

    def step_loss(self, batch: dict[str, Any]) -> Tensor:
        image, text = self._embed(batch)
        return contrastive_loss(image, text, self.component.logit_scale, self._caption_ids(batch))

    def training_step(self, batch: dict[str, Any], batch_idx: int) -> Tensor:
        loss = super().training_step(batch, batch_idx)
        self.log_on_logging_steps("train/logit_scale", self.component.logit_scale, batch)
        return loss

    def validation_step(self, batch, batch_idx: int) -> None:
        image, text = self._embed(batch)
        self._val_images.append(image.float())
        self._val_texts.append(text.float())
        self._val_captions.extend(batch["caption"])

    def on_validation_epoch_end(self) -> None:
        if not self._val_captions:
            return
        images, texts = torch.cat(self._val_images), torch.cat(self._val_texts)
        captions = self._val_captions
        loss = contrastive_loss(images, texts, self.component.logit_scale, caption_ids(captions, images.device))
        self.log("val/loss", loss)
        for k in (1, 5):
            self.log(f"val/i2t_top{k}", retrieval_accuracy(images, texts, captions, k))
            self.log(f"val/i2t_top{k}_chance", chance_retrieval(captions, k))
        self._val_images.clear()
        self._val_texts.clear()
        self._val_captions.clear()


def train_clip(graph: Graph, data: L.LightningDataModule | None = None) -> Path:
    """Train the encoder contrastively; returns the run's pipeline folder.

    `data` replaces the graph's `data:` section (e.g. an in-memory set in tests).
    """
    L.seed_everything(graph.seed, workers=True, verbose=False)
    pipeline = load_run_pipeline(graph)
    encoder = pipeline.components.encoder
    module = CLIPModule(encoder, graph.train.clip)
    fit_stage(graph, "clip", module, data or data_module(graph, "clip", tokenizer=encoder.tokenize))
    return export_stage(graph, pipeline, "encoder")
