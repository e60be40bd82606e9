"""Feature extractors for distribution metrics: the pipeline's own CLIP image tower, or Inception."""

from __future__ import annotations

from pathlib import Path

import torch
from torch import Tensor, nn

from unclip_core.errors import ConfigError
from unclip_core.interfaces import Encoder


class ClipImageFeatures(nn.Module):
    """z_i of images in [-1, 1] from the model's own CLIP: needs no download, runs offline.

    `num_features` is what torchmetrics reads to size its statistics without a trial forward pass.
    """

    def __init__(self, encoder: Encoder) -> None:
        super().__init__()
        self.encoder = encoder
        self.num_features = encoder.spec.embed_dim

    @torch.no_grad()
    def forward(self, images: Tensor) -> Tensor:
        device = next(self.encoder.parameters()).device
        return self.encoder.encode_image(images.to(device).float()).double().cpu()


def checked_inception_weights(path: str) -> str:
    """The local Inception weight file torchmetrics (through torch-fidelity) reads, checked up front."""
    if not Path(path).is_file():
        raise ConfigError(f"inception_weights: file '{path}' not found; give a local FID Inception weight file or null to use the model's CLIP")
    try:
        import torch_fidelity  # noqa: F401
    except ImportError:
        raise ConfigError(
            "inception_weights needs the torch-fidelity package: pip install torch-fidelity (or set inception_weights: null)"
        ) from None
    return path


def to_unit_range(images: Tensor) -> Tensor:
    """[-1, 1] -> [0, 1], the range torchmetrics' Inception path takes with normalize=True."""
    return ((images.float().clamp(-1, 1) + 1) / 2).cpu()
