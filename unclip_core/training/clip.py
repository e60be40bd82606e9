"""Contrastive training of the encoder, so the CLIP used everywhere is a real trained one."""

from __future__ import annotations

import hashlib
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
from .distributed import gather_objects, gather_rows
from .stage_module import StageModule
from .stages import data_module, export_stage, fit_stage, load_run_pipeline


def contrastive_loss(
    image_embeddings: Tensor, text_embeddings: Tensor, logit_scale: Tensor, caption_ids: Tensor, *, across_processes: bool = True
) -> Tensor:
    """Symmetric InfoNCE. Pairs with identical captions (equal `caption_ids`) are all positives.

    With several processes, each scores its own images and captions against every process's
    (gathered with gradients), as open_clip does: the mean of the processes' losses, and of
    their gradients, is the loss of the global batch, with all of its negatives, on one device.
    """
    gather = gather_rows if across_processes else (lambda rows: rows)
    all_images, all_texts, all_ids = gather(image_embeddings), gather(text_embeddings), gather(caption_ids)
    image_logits = logit_scale * image_embeddings @ all_texts.T
    text_logits = logit_scale * text_embeddings @ all_images.T
    same = (caption_ids[:, None] == all_ids[None, :]).to(image_logits.dtype)
    targets = same / same.sum(-1, keepdim=True)
    return (F.cross_entropy(image_logits, targets) + F.cross_entropy(text_logits, targets)) / 2


def caption_ids(captions: list[str], device: torch.device) -> Tensor:
    """One integer per distinct caption, the same in every process (a hash of the text, not
    Python's per-process salted one), so equal captions compare equal across a gathered batch."""
    return torch.tensor([int.from_bytes(hashlib.blake2b(c.encode(), digest_size=7).digest(), "big") for c in captions],
                        dtype=torch.long, device=device)


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
        # Retrieval ranks each image among every caption of the split, so every process scores
        # the whole split (Lightning's sampler gives the processes equal shares).
        images, texts = gather_rows(torch.cat(self._val_images)), gather_rows(torch.cat(self._val_texts))
        captions = gather_objects(self._val_captions)
        loss = contrastive_loss(images, texts, self.component.logit_scale, caption_ids(captions, images.device), across_processes=False)
        # Equal on every process already; sync_dist only says so to Lightning.
        self.log("val/loss", loss, sync_dist=True)
        for k in (1, 5):
            self.log(f"val/i2t_top{k}", retrieval_accuracy(images, texts, captions, k), sync_dist=True)
            self.log(f"val/i2t_top{k}_chance", chance_retrieval(captions, k), sync_dist=True)
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
