"""The caption-only baseline: use the caption's CLIP text embedding as the image embedding."""

from __future__ import annotations

from typing import ClassVar

import torch.nn.functional as F
from torch import Generator, Tensor

from unclip_core.interfaces import ComponentConfig, EncoderSpec, Prior, Sampler, StepCallback, TextEncoding


class TextAsImageConfig(ComponentConfig):
    pass


class TextAsImagePrior(Prior):
    """No prior: z_i := z_t. The floor every trained prior must beat."""

    name: ClassVar[str] = "text_as_image"
    Config: ClassVar[type[TextAsImageConfig]] = TextAsImageConfig
    trainable: ClassVar[bool] = False

    def __init__(self, config: TextAsImageConfig, *, spec: EncoderSpec | None = None) -> None:
        super().__init__()
        self.config = config

    def loss(self, image_embedding: Tensor, text: TextEncoding) -> Tensor:
        raise RuntimeError("the text_as_image prior has nothing to train; use it as is, or pick a trainable prior type")

    def sample(
        self,
        text: TextEncoding,
        *,
        generator: Generator | None = None,
        guidance_scale: float | None = None,
        sampler: Sampler | None = None,
        callback: StepCallback | None = None,
    ) -> Tensor:
        self.refuse_sampler(sampler)
        return F.normalize(text.embedding.float(), dim=-1)
