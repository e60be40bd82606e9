"""`retrieval`: is a generated image closer to its own true image than to every other one?"""

from __future__ import annotations

from typing import ClassVar

import torch
from pydantic import Field
from torch import Tensor

from unclip_core.interfaces import ComponentConfig, Metric, Samples
from unclip_core.metrics import retrieval_hits


class RetrievalConfig(ComponentConfig):
    top_k: list[int] = Field([1, 5], min_length=1, description="Report a hit rate for each k.")


class Retrieval(Metric):
    """Top-k rate at which a generated image's z_i retrieves its own true image among all the prompts' true images."""

    name: ClassVar[str] = "retrieval"
    Config: ClassVar[type[RetrievalConfig]] = RetrievalConfig
    needs_references: ClassVar[bool] = True

    @torch.no_grad()
    def per_image(self, samples: Samples) -> dict[str, Tensor]:
        self.check(samples)
        encoder = samples.encoder
        device = next(encoder.parameters()).device
        generated = encoder.encode_image(samples.images.to(device).float()).float()
        true = encoder.encode_image(samples.references.to(device).float()).float()
        # The gallery is one true image per distinct caption, so several images of one prompt
        # (images_per_prompt > 1) all aim at the same target.
        return {
            f"retrieval_top{k}": retrieval_hits(generated, true, samples.prompts, k=k).float() for k in self.config.top_k
        }
