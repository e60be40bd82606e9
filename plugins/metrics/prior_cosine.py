"""`prior_cosine`: how close the prior's z_i comes to the true image's z_i, and to the caption's z_t."""

from __future__ import annotations

from typing import ClassVar

import torch

from unclip_core.interfaces import ComponentConfig, Metric, Samples
from unclip_core.metrics import prior_similarities


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
    def measure(self, samples: Samples) -> dict[str, float]:
        self.check(samples)
        encoder = samples.encoder
        device = next(encoder.parameters()).device
        text = encoder.embed_texts(samples.prompts)
        generator = torch.Generator(device).manual_seed(samples.seed)
        predicted = samples.prior.sample(text, generator=generator)
        true = encoder.encode_image(samples.references.to(device).float())
        cosines = prior_similarities(predicted, true, text.embedding)
        return {"prior_cosine_true": cosines["cos_true"], "prior_cosine_text": cosines["cos_text"]}
