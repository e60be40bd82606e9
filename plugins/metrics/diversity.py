"""`diversity`: how different the images drawn for one prompt are from each other."""

from __future__ import annotations

from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor

from unclip_core.errors import InputError
from unclip_core.interfaces import ComponentConfig, Metric, Samples


class Diversity(Metric):
    """How different the images of one prompt are: each image's mean distance to the others.

    `diversity_clip` is 1 - the cosine of their z_i (what is drawn); `diversity_pixels` the
    root mean square difference of their pixels on a 0..1 scale (how it is drawn).

    The paper's case for generating z_i first is that guidance then costs less diversity; this
    puts a number on it beside a fidelity metric. Neither end is better by itself (noise is
    diverse), so tables mark no best: read it against fidelity at the same settings.
    """

    name: ClassVar[str] = "diversity"
    Config: ClassVar[type[ComponentConfig]] = ComponentConfig
    min_images_per_prompt: ClassVar[int] = 2

    def direction(self, column: str) -> str | None:
        return None

    @torch.no_grad()
    def per_image(self, samples: Samples) -> dict[str, Tensor]:
        self.check(samples)
        mates = same_prompt_mates(samples.prompts)
        alone = mates.sum(1) == 0
        if alone.any():
            prompt = samples.prompts[int(alone.nonzero()[0])]
            raise InputError(
                f"metric 'diversity' compares the images of one prompt with each other, and '{prompt}' has one image; "
                "generate 2 or more images per prompt (images_per_prompt: 4)"
            )
        encoder = samples.encoder
        device = next(encoder.parameters()).device
        z_i = F.normalize(encoder.encode_image(samples.images.to(device).float()).float().cpu(), dim=-1)
        pixels = ((samples.images.float().cpu().clamp(-1, 1) + 1) / 2).flatten(1)
        clip_distance = 1 - z_i @ z_i.T
        pixel_distance = torch.cdist(pixels.double(), pixels.double()).float() / pixels.shape[1] ** 0.5
        return {"diversity_clip": mean_over_mates(clip_distance, mates), "diversity_pixels": mean_over_mates(pixel_distance, mates)}


def same_prompt_mates(prompts: list[str]) -> Tensor:
    """mates[j, k]: images j and k (j != k) were drawn for the same prompt."""
    ids = {prompt: i for i, prompt in enumerate(dict.fromkeys(prompts))}
    group = torch.tensor([ids[p] for p in prompts])
    mates = group[:, None] == group[None, :]
    mates.fill_diagonal_(False)
    return mates


def mean_over_mates(distance: Tensor, mates: Tensor) -> Tensor:
    """Each image's mean distance to its mates; with equal groups, their mean is the mean pairwise distance."""
    return (distance * mates).sum(1) / mates.sum(1)
