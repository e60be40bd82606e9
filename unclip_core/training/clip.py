"""Contrastive training of the encoder, so the CLIP used everywhere is a real trained one."""

from __future__ import annotations

from pathlib import Path

import lightning as L
import torch
import torch.nn.functional as F
from torch import Tensor

from ..graph import Graph
from ..interfaces import Encoder
from ..metrics import chance_retrieval, retrieval_accuracy
from .config import StageConfig
from .optim import adamw_with_warmup
from .stages import data_module, export_stage, load_run_pipeline
from .trainer import make_trainer, resume_path


def contrastive_loss(image_embeddings: Tensor, text_embeddings: Tensor, logit_scale: Tensor, captions: list[str]) -> Tensor:
    """Symmetric InfoNCE. Pairs with identical captions are all counted as positives."""
    logits = logit_scale * image_embeddings @ text_embeddings.T
    ids = caption_ids(captions, logits.device)
    same = (ids[:, None] == ids[None, :]).to(logits.dtype)
    targets = same / same.sum(-1, keepdim=True)
    return (F.cross_entropy(logits, targets) + F.cross_entropy(logits.T, targets)) / 2


def caption_ids(captions: list[str], device: torch.device) -> Tensor:
    """One integer per distinct caption, so equal captions compare equal as tensors."""
    index: dict[str, int] = {}
    return torch.tensor([index.setdefault(c, len(index)) for c in captions], device=device)


class CLIPModule(L.LightningModule):
    """Trains `component` (an Encoder) on image-caption batches."""

    def __init__(self, encoder: Encoder, settings: StageConfig) -> None:
        super().__init__()
        self.component = encoder
        self.settings = settings
        self._val_images: list[Tensor] = []
        self._val_texts: list[Tensor] = []
        self._val_captions: list[str] = []

    def _embed(self, batch) -> tuple[Tensor, Tensor, list[str]]:
        captions = list(batch["caption"])
        tokens = self.component.tokenize(captions).to(self.device)
        text = self.component.encode_text(tokens).embedding
        image = self.component.encode_image(batch["image"])
        return image, text, captions

    def training_step(self, batch, batch_idx: int) -> Tensor:
        image, text, captions = self._embed(batch)
        loss = contrastive_loss(image, text, self.component.logit_scale, captions)
        self.log("train/loss", loss, prog_bar=True, batch_size=len(captions))
        self.log("train/logit_scale", self.component.logit_scale, batch_size=len(captions))
        return loss

    def validation_step(self, batch, batch_idx: int) -> None:
        image, text, captions = self._embed(batch)
        self._val_images.append(image.float())
        self._val_texts.append(text.float())
        self._val_captions.extend(captions)

    def on_validation_epoch_end(self) -> None:
        if not self._val_captions:
            return
        images, texts = torch.cat(self._val_images), torch.cat(self._val_texts)
        captions = self._val_captions
        loss = contrastive_loss(images, texts, self.component.logit_scale, captions)
        self.log("val/loss", loss)
        for k in (1, 5):
            self.log(f"val/i2t_top{k}", retrieval_accuracy(images, texts, captions, k))
            self.log(f"val/i2t_top{k}_chance", chance_retrieval(captions, k))
        self._val_images.clear()
        self._val_texts.clear()
        self._val_captions.clear()

    def configure_optimizers(self):
        return adamw_with_warmup(self.component, self.settings)


def train_clip(graph: Graph, data: L.LightningDataModule | None = None) -> Path:
    """Train the encoder contrastively; returns the run's pipeline folder.

    `data` replaces the graph's `data:` section (e.g. an in-memory set in tests).
    """
    L.seed_everything(graph.seed, workers=True, verbose=False)
    pipeline = load_run_pipeline(graph)
    module = CLIPModule(pipeline.components.encoder, graph.train.clip)
    trainer, ema = make_trainer(graph, "clip")
    trainer.fit(module, datamodule=data or data_module(graph, "clip"), ckpt_path=resume_path(graph, "clip"))
    if ema is not None:
        ema.apply(pipeline.components.encoder)
    return export_stage(graph, pipeline, "encoder")
