"""Training the prior: z_i from the caption, on embeddings of a frozen encoder or precomputed ones."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import lightning as L
import torch
from torch import Tensor

from ..errors import ConfigError
from ..graph import Graph
from ..interfaces import Encoder, Prior, TextEncoding
from ..metrics import prior_similarities
from .columns import to_float_images
from .config import StageConfig
from .stage_module import StageModule, precomputed_text
from .stages import data_module, export_stage, fit_stage, load_run_pipeline, missing_section

# How many training pairs fit_statistics sees: enough for stable PCA and quantile bins.
STATISTICS_ITEMS = 8192


class PriorModule(StageModule):
    """Trains `component` (a Prior). Batches hold images and captions, embedded on the fly by the
    frozen `encoder`, or precomputed embeddings (keys image_embedding, text_embedding,
    text_tokens, text_mask), which need no encoder.
    """

    stage = "prior"
    component_methods = ("loss", "sample")

    def __init__(self, prior: Prior, settings: StageConfig, encoder: Encoder | None = None, seed: int = 0) -> None:
        super().__init__(prior, settings, encoder=encoder)
        self.seed = seed
        self._sums: dict[str, float] = {}
        self._counts: dict[str, int] = {}

    @torch.no_grad()
    def embed(self, batch: dict[str, Any]) -> tuple[Tensor, TextEncoding]:
        """(z_i, encoded caption) for a batch, from precomputed embeddings or the encoder."""
        if "image_embedding" in batch:
            return batch["image_embedding"].float(), precomputed_text(batch)
        if self.encoder is None:
            raise ConfigError(
                "this batch has images, not precomputed embeddings, and the prior module has no encoder to embed them; "
                "pass encoder= or use a data source that yields precomputed embeddings"
            )
        device = next(self.encoder.parameters()).device
        tokens = batch["tokens"] if "tokens" in batch else self.encoder.tokenize(list(batch["caption"]))
        text = self.encoder.encode_text(tokens.to(device))
        return self.encoder.encode_image(to_float_images(batch["image"].to(device))).float(), text

    def frozen_features(self, batch: dict[str, Any]) -> dict[str, Tensor] | None:
        if "image_embedding" in batch or self.encoder is None or "tokens" not in batch:
            return None  # precomputed already, or nothing to compute them with
        return self.encoder_features(batch)

    def fit_statistics(self, batches: Iterable[dict[str, Any]], items: int = STATISTICS_ITEMS) -> int:
        """Fit the prior's statistics on up to `items` training pairs; returns how many it used."""
        images, texts, seen = [], [], 0
        for batch in batches:
            z_i, text = self.embed(batch)
            images.append(z_i)
            texts.append(text.embedding.float())
            seen += len(z_i)
            if seen >= items:
                break
        if not images:
            raise ConfigError("the training set is empty: the prior's statistics cannot be fitted")
        self.component.fit_statistics(torch.cat(images)[:items], torch.cat(texts)[:items])
        return min(seen, items)

    def step_loss(self, batch: dict[str, Any]) -> Tensor:
        z_i, text = self.embed(batch)
        return self.component.loss(z_i, text)

    def validation_step(self, batch, batch_idx: int) -> None:
        z_i, text = self.embed(batch)
        # A fixed seed per batch: validation curves then show the model changing, not the noise.
        generator = torch.Generator(z_i.device).manual_seed(self.seed + batch_idx)
        predicted = self.component.sample(text, generator=generator)
        for key, value in prior_similarities(predicted, z_i, text.embedding).items():
            self._sums[key] = self._sums.get(key, 0.0) + value * len(z_i)
            self._counts[key] = self._counts.get(key, 0) + len(z_i)

    def on_validation_epoch_end(self) -> None:
        keys = sorted(self._sums)
        totals = torch.tensor([[self._sums[k], self._counts[k]] for k in keys], dtype=torch.float64, device=self.device)
        if self._trainer is not None:  # every process's sums and counts: the mean over the whole split
            totals = self._trainer.strategy.reduce(totals, reduce_op="sum")
        for key, (total, count) in zip(keys, totals.tolist()):
            self.log(f"val/{key}", total / count, sync_dist=True)  # equal on every process already
        self._sums, self._counts = {}, {}


def train_prior(graph: Graph) -> Path:
    """Train the graph's prior (fitting its statistics first); returns the run's pipeline folder."""
    L.seed_everything(graph.seed, workers=True, verbose=False)
    pipeline = load_run_pipeline(graph)
    prior = pipeline.components.prior
    if prior is None:
        raise missing_section("prior", "prior", "prior")
    if not prior.trainable:  # e.g. the caption-only baseline: nothing to learn, only to record
        return export_stage(graph, pipeline, "prior")
    encoder = pipeline.components.encoder
    data = data_module(graph, "prior", tokenizer=encoder.tokenize)
    module = PriorModule(prior, graph.train.prior, encoder=encoder, seed=graph.seed)
    module.fit_statistics(data.statistics_batches())
    fit_stage(graph, "prior", module, data)
    return export_stage(graph, pipeline, "prior")
