"""A tiny CLIP written from scratch: the example of an encoder that owns its weights.

Its Config has no field saying where weights come from: it always starts from random weights
and is trained by `unclip train clip`. Pipelines save and reload it like any other encoder.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

import torch
import torch.nn.functional as F
from pydantic import Field
from torch import Tensor, nn

from unclip_core.interfaces import ComponentConfig, Encoder, EncoderSpec, TextEncoding

PAD = 0  # token 0 pads; a byte b is token b + 1


class ByteCLIPConfig(ComponentConfig):
    embed_dim: int = Field(32, ge=4, description="Width of z_t and z_i.")
    width: int = Field(64, ge=8, description="Width of the per-token text encodings and of the image convolutions.")
    context_length: int = Field(48, ge=4, description="Caption bytes kept (longer captions are cut).")
    image_size: int = Field(32, ge=8, description="Side the image tower works at.")


class ByteCLIP(Encoder):
    """Byte-level caption tower and a small convolutional image tower, trained contrastively."""

    name: ClassVar[str] = "byte_clip"
    Config: ClassVar[type[ByteCLIPConfig]] = ByteCLIPConfig

    def __init__(self, config: ByteCLIPConfig) -> None:
        super().__init__()
        self.config = config
        width = config.width
        self.byte_embedding = nn.Embedding(257, width, padding_idx=PAD)
        self.positions = nn.Parameter(torch.randn(config.context_length, width) * 0.02)
        self.text_layer = nn.TransformerEncoderLayer(width, nhead=4, dim_feedforward=2 * width, batch_first=True)
        self.text_norm = nn.LayerNorm(width)
        self.text_projection = nn.Linear(width, config.embed_dim)
        self.image_tower = nn.Sequential(
            nn.Conv2d(3, width // 2, 3, stride=2, padding=1), nn.GELU(),
            nn.Conv2d(width // 2, width, 3, stride=2, padding=1), nn.GELU(),
            nn.Conv2d(width, width, 3, stride=2, padding=1), nn.GELU(),
            nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(width, config.embed_dim),
        )
        self.log_temperature = nn.Parameter(torch.tensor(2.659))  # log(1 / 0.07), as CLIP starts

    @property
    def spec(self) -> EncoderSpec:
        c = self.config
        return EncoderSpec(embed_dim=c.embed_dim, text_width=c.width, context_length=c.context_length, image_size=c.image_size)

    def tokenize(self, texts: Sequence[str]) -> Tensor:
        tokens = torch.full((len(texts), self.config.context_length), PAD, dtype=torch.long)
        for row, text in enumerate(texts):
            data = text.encode("utf-8")[: self.config.context_length]
            tokens[row, : len(data)] = torch.tensor(list(data), dtype=torch.long) + 1
        return tokens

    def encode_text(self, tokens: Tensor) -> TextEncoding:
        mask = tokens != PAD
        x = self.byte_embedding(tokens) + self.positions[: tokens.shape[1]]
        # An empty caption has no real token; let it attend to its first slot rather than nothing.
        attend = mask.clone()
        attend[:, 0] = True
        per_token = self.text_norm(self.text_layer(x, src_key_padding_mask=~attend))
        pooled = (per_token * attend[..., None]).sum(1) / attend.sum(1, keepdim=True)
        return TextEncoding(F.normalize(self.text_projection(pooled), dim=-1), per_token, mask)

    def encode_image(self, images: Tensor) -> Tensor:
        size = self.config.image_size
        if images.shape[-2:] != (size, size):
            images = F.interpolate(images, size=(size, size), mode="bilinear", antialias=True, align_corners=False)
        return F.normalize(self.image_tower(images), dim=-1)

    @property
    def logit_scale(self) -> Tensor:
        return self.log_temperature.exp().clamp(max=100)
