"""`prior_cosine`: how close the prior's z_i comes to the true image's z_i, and to the caption's z_t."""

from __future__ import annotations

from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor

from unclip_core.interfaces import ComponentConfig, Metric, Samples


class PriorCosine(Metric):
    """Cosine of the prior's z_i with the true image's z_i (and with z_t, for reference); judges the prior alone."""

    name: ClassVar[str] = "prior_cosine"
    Config: ClassVar[type[ComponentConfig]] = ComponentConfig
    needs_references: ClassVar[bool] = True
    needs_prior: ClassVar[bool] = True

    def direction(self, column: str) -> str | None:
        # Closeness to the caption is context (the caption-only prior maximizes it), not a goal.
        return "higher" if column == "prior_cosine_true" else None

    @torch.no_grad()
    def per_image(self, samples: Samples) -> dict[str, Tensor]:
        self.check(samples)
        encoder = samples.encoder
        device = next(encoder.parameters()).device
        text = encoder.embed_texts(samples.prompts)
        generator = torch.Generator(device).manual_seed(samples.seed)
        predicted = samples.prior.sample(text, generator=generator)
        true = encoder.encode_image(samples.references.to(device).float())
        return {"prior_cosine_true": F.cosine_similarity(predicted.float(), true.float(), dim=-1),
                "prior_cosine_text": F.cosine_similarity(predicted.float(), text.embedding.float(), dim=-1)}
