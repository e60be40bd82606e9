"""`clip_score`: does each image show its caption, by the model's own CLIP."""

from __future__ import annotations

from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor

from unclip_core.interfaces import ComponentConfig, Metric, Samples


class ClipScore(Metric):
    """Mean cosine of each generated image's z_i with its prompt's z_t, by the pipeline's CLIP."""

    name: ClassVar[str] = "clip_score"
    Config: ClassVar[type[ComponentConfig]] = ComponentConfig

    @torch.no_grad()
    def per_image(self, samples: Samples) -> dict[str, Tensor]:
        self.check(samples)
        encoder = samples.encoder
        device = next(encoder.parameters()).device
        z_i = encoder.encode_image(samples.images.to(device).float())
        z_t = encoder.embed_texts(samples.prompts).embedding
        return {"clip_score": F.cosine_similarity(z_i.float(), z_t.float(), dim=-1)}
