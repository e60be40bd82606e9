"""`colorfulness`: how vivid generated images are, from the spread of two opponent color channels.

Per image, with channels in 0..255: rg = R - G and yb = (R + G) / 2 - B; the score is the
length of their standard deviations plus 0.3 times the length of their means (Hasler and
Suesstrunk's measure). Grey images score 0. Neither end is "better", so tables bold neither;
with true images at hand the metric also reports how far the generated images' mean
colorfulness is from theirs, which is better low.
"""

from __future__ import annotations

from typing import ClassVar

import torch
from torch import Tensor

from unclip_core.interfaces import ComponentConfig, Metric, Samples, means


def colorfulness(images: Tensor) -> Tensor:
    """(B, 3, H, W) in [-1, 1] -> (B,) scores."""
    rgb = (images.float().clamp(-1, 1) + 1) * 127.5
    red, green, blue = rgb[:, 0].flatten(1), rgb[:, 1].flatten(1), rgb[:, 2].flatten(1)
    rg, yb = red - green, (red + green) / 2 - blue
    spread = torch.sqrt(rg.var(dim=1, unbiased=False) + yb.var(dim=1, unbiased=False))
    offset = torch.sqrt(rg.mean(dim=1) ** 2 + yb.mean(dim=1) ** 2)
    return spread + 0.3 * offset


class Colorfulness(Metric):
    """Mean colorfulness of the images (and its gap to the true images' when prompts come from a data set)."""

    name: ClassVar[str] = "colorfulness"
    Config: ClassVar[type[ComponentConfig]] = ComponentConfig

    def direction(self, column: str) -> str | None:
        return "lower" if column == "colorfulness_gap" else None

    def measure(self, samples: Samples) -> dict[str, float]:
        out = means(self.per_image(samples))
        if samples.references is not None:  # a gap of means: a number of the whole set only
            out["colorfulness_gap"] = abs(out["colorfulness"] - colorfulness(samples.references).double().mean().item())
        return out

    def per_image(self, samples: Samples) -> dict[str, Tensor]:
        """Each image's score: experiments compare variants prompt by prompt with it."""
        self.check(samples)
        return {"colorfulness": colorfulness(samples.images)}
