"""The paper's diffusion prior: a causal transformer that denoises z_i given the caption."""

from __future__ import annotations

import math
from typing import ClassVar

import torch
import torch.nn.functional as F
from pydantic import Field
from torch import Generator, Tensor, nn

from unclip_core.diffusion import GaussianDiffusion, Prediction, ScheduleKind
from unclip_core.errors import ConfigError, InputError
from unclip_core.interfaces import EncoderSpec, Prior, Sampler, StepCallback, TextEncoding

from .conditioning import CaptionPrefix, conditioning
from .selection import best_of_n, samples_per_prompt_field
from .standardize import fit_mean_std, standardize, unstandardize
from .transformer import CausalTransformer, TransformerPriorConfig

# Tokens after the caption prefix: timestep, noised z_i, output query.
TAIL_TOKENS = 3


class DiffusionPriorConfig(TransformerPriorConfig):
    timesteps: int = Field(1000, ge=2)
    schedule: ScheduleKind = "cosine"
    prediction: Prediction = Field("x0", description="What the network predicts; the paper predicts x0.")
    min_snr_gamma: float | None = Field(
        None, gt=0, description="Weight the training loss by min-SNR-gamma; null: plain MSE, as in the paper."
    )
    cond_drop_prob: float = Field(0.1, ge=0, lt=1, description="Caption dropout for classifier-free guidance.")
    guidance_scale: float = Field(1.0, ge=0, description="Default guidance at sampling; 1 is unguided.")
    samples_per_prompt: int = samples_per_prompt_field(2)


def timestep_embedding(t: Tensor, width: int, max_period: float = 10_000.0) -> Tensor:
    """Sinusoidal features of integer timesteps (B,) -> (B, width)."""
    half = width // 2
    freqs = torch.exp(-math.log(max_period) * torch.arange(half, device=t.device, dtype=torch.float32) / half)
    angles = t.float()[:, None] * freqs[None]
    out = torch.cat([angles.cos(), angles.sin()], -1)
    return F.pad(out, (0, width % 2))


class DiffusionPrior(Prior):
    """Diffusion prior: a causal transformer predicts z_i from noise, caption tokens and z_t."""

    name: ClassVar[str] = "diffusion_prior"
    sampling_fields: ClassVar[frozenset[str]] = frozenset({"guidance_scale", "samples_per_prompt"})
    Config: ClassVar[type[DiffusionPriorConfig]] = DiffusionPriorConfig
    nested: ClassVar[dict[str, str]] = {"sampler": "sampler"}

    def __init__(self, config: DiffusionPriorConfig, *, spec: EncoderSpec, sampler: Sampler) -> None:
        super().__init__()
        self.config = config
        self.spec = spec
        self.sampler = sampler
        # Standardized z_i has no fixed range, so x0 estimates are not clipped.
        self.diffusion = GaussianDiffusion.make(
            config.schedule, config.timesteps, config.prediction, min_snr_gamma=config.min_snr_gamma
        )
        if sampler.steps > config.timesteps:
            raise ConfigError(
                f"prior.sampler.steps={sampler.steps} exceeds prior.timesteps={config.timesteps}; lower the steps"
            )
        width, dim = config.width, spec.embed_dim
        self.prefix = CaptionPrefix(spec, width)
        self.time = nn.Sequential(nn.Linear(width, width), nn.SiLU(), nn.Linear(width, width))
        self.noised = nn.Linear(dim, width)
        self.query = nn.Parameter(torch.randn(width) * 0.02)
        self.positions = nn.Parameter(torch.randn(spec.context_length + 1 + TAIL_TOKENS, width) * 0.02)
        self.transformer = CausalTransformer(width, config.depth, config.heads, config.dropout)
        self.out = nn.Linear(width, dim)
        self.register_buffer("image_mean", torch.zeros(dim))
        self.register_buffer("image_std", torch.ones(dim))

    # ---- the network ----------------------------------------------------------------------
    def network(self, x_t: Tensor, t: Tensor, cond: dict[str, Tensor]) -> Tensor:
        """The raw prediction (x0, eps or v, per config) for standardized noised embeddings."""
        prefix, valid = self.prefix(cond["tokens"], cond["mask"], cond["text_embedding"], cond["drop"])
        batch = x_t.shape[0]
        tail = torch.stack(
            [
                self.time(timestep_embedding(t, self.config.width).to(prefix.dtype)),
                self.noised(x_t.to(prefix.dtype)),
                self.query.expand(batch, -1),
            ],
            1,
        )
        tokens = torch.cat([prefix, tail], 1) + self.positions
        valid = torch.cat([valid, torch.ones_like(valid[:, :TAIL_TOKENS])], 1)
        hidden, _ = self.transformer(tokens, valid)
        return self.out(hidden[:, -1]).to(x_t.dtype)

    # ---- the Prior interface --------------------------------------------------------------
    def fit_statistics(self, image_embeddings: Tensor, text_embeddings: Tensor) -> None:
        mean, std = fit_mean_std(image_embeddings)
        self.image_mean.copy_(mean)
        self.image_std.copy_(std)

    def loss(self, image_embedding: Tensor, text: TextEncoding) -> Tensor:
        x0 = standardize(image_embedding.float(), self.image_mean, self.image_std)
        drop = torch.rand(x0.shape[0], device=x0.device) < self.config.cond_drop_prob
        return self.diffusion.loss(self.network, x0, conditioning(text, drop))

    def check_sampler(self, sampler: Sampler) -> None:
        if sampler.steps > self.config.timesteps:
            raise InputError(
                f"the prior's sampler asks for {sampler.steps} steps but prior.timesteps is "
                f"{self.config.timesteps}; lower the prior's steps"
            )

    @torch.no_grad()
    def sample(
        self,
        text: TextEncoding,
        *,
        generator: Generator | None = None,
        guidance_scale: float | None = None,
        sampler: Sampler | None = None,
        callback: StepCallback | None = None,
    ) -> Tensor:
        n = self.config.samples_per_prompt
        scale = self.config.guidance_scale if guidance_scale is None else guidance_scale
        repeated = text.repeat_interleave(n)
        denoise = self.diffusion.denoiser(self.network, conditioning(repeated, False), conditioning(repeated, True), scale)
        device = self.image_mean.device
        noise = torch.randn((len(repeated), self.spec.embed_dim), generator=generator, device=device)
        sampler = sampler or self.sampler
        self.check_sampler(sampler)
        x0 = sampler.sample(denoise, noise, self.diffusion.schedule, generator=generator, callback=callback)
        samples = F.normalize(unstandardize(x0, self.image_mean, self.image_std), dim=-1)
        return best_of_n(samples, F.normalize(text.embedding.float(), dim=-1), n)
