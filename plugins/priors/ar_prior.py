"""The paper's autoregressive prior: z_i as a sequence of discrete PCA codes, predicted one by one."""

from __future__ import annotations

from typing import ClassVar

import torch
import torch.nn.functional as F
from pydantic import Field, model_validator
from torch import Generator, Tensor, nn

from unclip_core.errors import ConfigError
from unclip_core.interfaces import EncoderSpec, Prior, Sampler, StepCallback, TextEncoding

from . import quantization as q
from .conditioning import CaptionPrefix
from .selection import best_of_n, samples_per_prompt_field
from .token_sampling import guide_logits, sample_tokens
from .transformer import CausalTransformer, TransformerPriorConfig


class ARPriorConfig(TransformerPriorConfig):
    components: int = Field(32, ge=1, description="PCA components kept of z_i (at most embed_dim).")
    buckets: int = Field(256, ge=2, description="Discrete bins per PCA component.")
    dot_buckets: int = Field(16, ge=2, description="Bins of the conditioning dot product z_i . z_t.")
    dot_quantile: float | None = Field(
        0.9, ge=0, le=1, description="Sample with the bin of this quantile of z_i . z_t; null: without the dot product."
    )
    dot_drop_prob: float = Field(
        0.0, ge=0, le=1, description="Train without the dot product this often (needed to sample with dot_quantile: null)."
    )
    cond_drop_prob: float = Field(0.1, ge=0, lt=1, description="Caption dropout for classifier-free guidance.")
    guidance_scale: float = Field(1.0, ge=0, description="Default guidance at sampling; 1 is unguided.")
    temperature: float = Field(1.0, ge=0, description="Sampling temperature; 0 is greedy.")
    top_p: float = Field(1.0, gt=0, le=1, description="Nucleus sampling; 1 keeps every token.")
    samples_per_prompt: int = samples_per_prompt_field(1)

    @model_validator(mode="after")
    def _unconditioned_dot_is_trained(self):
        if self.dot_quantile is None and self.dot_drop_prob == 0:
            raise ValueError("dot_quantile: null samples without the dot product, which only a prior trained "
                             "with dot_drop_prob > 0 has learned; set dot_drop_prob (e.g. 0.5) or a dot_quantile")
        return self


class ARPrior(Prior):
    """Autoregressive prior: PCA of z_i, quantized, predicted code by code by a causal transformer."""

    name: ClassVar[str] = "ar_prior"
    sampling_fields: ClassVar[frozenset[str]] = frozenset({"guidance_scale", "temperature", "top_p", "dot_quantile", "samples_per_prompt"})
    Config: ClassVar[type[ARPriorConfig]] = ARPriorConfig

    def __init__(self, config: ARPriorConfig, *, spec: EncoderSpec) -> None:
        super().__init__()
        if config.components > spec.embed_dim:
            raise ConfigError(
                f"prior.components={config.components} exceeds the encoder's embed_dim={spec.embed_dim}; "
                f"set prior.components to at most {spec.embed_dim}"
            )
        self.config = config
        self.spec = spec
        width, comps = config.width, config.components
        self.prefix = CaptionPrefix(spec, width)
        self.dot = nn.Embedding(config.dot_buckets + 1, width)  # the extra row is `no_dot`
        # One table for all components: quantile bins make bin k of every component the same rank.
        self.codes = nn.Embedding(config.buckets, width)
        # Prefix (caption tokens, z_t, dot), then every code but the last.
        self.positions = nn.Parameter(torch.randn(spec.context_length + 2 + comps - 1, width) * 0.02)
        # Codes start as small as their positions (nn.Embedding's own init is 50x larger). The
        # position is all that says which component comes next; drowned by the code, it took
        # the network 1,000 of 2,500 steps on shapes to start learning (docs/priors.md).
        for table in (self.dot, self.codes):
            nn.init.normal_(table.weight, std=0.02)
        self.transformer = CausalTransformer(width, config.depth, config.heads, config.dropout)
        self.head = nn.Linear(width, config.buckets)
        self.register_buffer("pca_mean", torch.zeros(spec.embed_dim))
        self.register_buffer("pca_basis", torch.zeros(comps, spec.embed_dim))
        self.register_buffer("bucket_edges", torch.zeros(comps, config.buckets - 1))
        self.register_buffer("bucket_centers", torch.zeros(comps, config.buckets))
        self.register_buffer("dot_edges", torch.zeros(1, config.dot_buckets - 1))
        self.register_buffer("fitted", torch.zeros((), dtype=torch.bool))
        # Reading `fitted` is a host sync on a GPU; once it has read True it is not read again
        # until new weights are loaded (which may be unfitted ones).
        self._known_fitted = False
        self.register_load_state_dict_post_hook(lambda module, keys: setattr(module, "_known_fitted", False))

    # ---- codes <-> embeddings -----------------------------------------------------------
    def encode(self, image_embedding: Tensor) -> Tensor:
        """(B, D) z_i -> (B, components) codes."""
        self._check_fitted()
        return q.bucketize(q.project(image_embedding.float(), self.pca_mean, self.pca_basis), self.bucket_edges)

    def decode(self, codes: Tensor) -> Tensor:
        """(B, components) codes -> (B, D) unit-norm z_i."""
        coefficients = q.dequantize(codes, self.bucket_centers)
        return F.normalize(q.unproject(coefficients, self.pca_mean, self.pca_basis), dim=-1)

    def dot_codes(self, image_embedding: Tensor, text_embedding: Tensor) -> Tensor:
        dots = (image_embedding.float() * text_embedding.float()).sum(-1, keepdim=True)
        return q.bucketize(dots, self.dot_edges)[:, 0]

    @property
    def no_dot(self) -> int:
        """The dot-product code meaning "unknown": a dropped caption, dot_drop_prob, dot_quantile: null."""
        return self.config.dot_buckets

    # ---- the network ----------------------------------------------------------------------
    def _start(self, text: TextEncoding, drop: Tensor, dot_code: Tensor) -> tuple[Tensor, Tensor]:
        """Prefix tokens (with positions) and key validity: caption, z_t, dot product."""
        prefix, valid = self.prefix(text.tokens, text.mask, text.embedding, drop)
        dot = self.dot(torch.where(drop, self.no_dot, dot_code))
        tokens = torch.cat([prefix, dot[:, None]], 1)
        return tokens + self.positions[: tokens.shape[1]], torch.cat([valid, torch.ones_like(valid[:, :1])], 1)

    def loss(self, image_embedding: Tensor, text: TextEncoding) -> Tensor:
        codes = self.encode(image_embedding)
        batch = codes.shape[0]
        drop = torch.rand(batch, device=codes.device) < self.config.cond_drop_prob
        drop_dot = torch.rand(batch, device=codes.device) < self.config.dot_drop_prob
        dot_code = torch.where(drop_dot, self.no_dot, self.dot_codes(image_embedding, text.embedding))
        start, valid = self._start(text, drop, dot_code)
        prefix_len = start.shape[1]
        inputs = self.codes(codes[:, :-1]) + self.positions[prefix_len:]
        tokens = torch.cat([start, inputs], 1)
        valid = torch.cat([valid, torch.ones_like(codes[:, :-1], dtype=torch.bool)], 1)
        hidden, _ = self.transformer(tokens, valid)
        logits = self.head(hidden[:, prefix_len - 1 :])  # the dot token predicts code 0, and so on
        return F.cross_entropy(logits.reshape(-1, self.config.buckets).float(), codes.flatten())

    def fit_statistics(self, image_embeddings: Tensor, text_embeddings: Tensor) -> None:
        """PCA of z_i, quantile bins of each component, and quantile bins of z_i . z_t."""
        if image_embeddings.shape[0] < self.config.buckets:
            raise ValueError(
                f"fitting {self.config.buckets} bins needs at least that many embeddings, got "
                f"{image_embeddings.shape[0]}; lower prior.buckets or fit on more data"
            )
        image = image_embeddings.float()
        mean, basis = q.fit_pca(image, self.config.components)
        coefficients = q.project(image, mean, basis)
        edges = q.quantile_edges(coefficients, self.config.buckets)
        dots = (image * text_embeddings.float()).sum(-1, keepdim=True)
        for name, value in {
            "pca_mean": mean,
            "pca_basis": basis,
            "bucket_edges": edges,
            "bucket_centers": q.bin_centers(coefficients, edges),
            "dot_edges": q.quantile_edges(dots, self.config.dot_buckets),
        }.items():
            getattr(self, name).copy_(value)
        self.fitted.fill_(True)

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
        self.refuse_sampler(sampler)
        self._check_fitted()
        scale = self.config.guidance_scale if guidance_scale is None else guidance_scale
        n = self.config.samples_per_prompt
        caption_embedding = F.normalize(text.embedding.float(), dim=-1)
        if n > 1:  # every caption n times in one batch; best_of_n keeps one per caption
            text = text.repeat_interleave(n)
        batch, device = len(text), self.pca_mean.device
        quantile = self.config.dot_quantile
        dot_bin = self.no_dot if quantile is None else q.quantile_bin(quantile, self.config.dot_buckets)
        dot_code = torch.full((batch,), dot_bin, device=device)
        drop = torch.zeros(batch, dtype=torch.bool, device=device)
        if scale != 1.0:  # conditional and unconditional rows in one batch, sharing every token
            text = TextEncoding(*(torch.cat([v, v]) for v in (text.embedding, text.tokens, text.mask)))
            dot_code, drop = torch.cat([dot_code, dot_code]), torch.cat([drop, ~drop])
        tokens, valid = self._start(text, drop, dot_code)
        prefix_len = tokens.shape[1]
        hidden, cache = self.transformer(tokens, valid)
        codes = []
        for k in range(self.config.components):
            logits = self.head(hidden[:, -1]).float()
            if scale != 1.0:
                logits = guide_logits(*logits.chunk(2), scale)
            code = sample_tokens(logits, temperature=self.config.temperature, top_p=self.config.top_p, generator=generator)
            codes.append(code)
            if k + 1 == self.config.components:
                break
            step = self.codes(code.repeat(2 if scale != 1.0 else 1)) + self.positions[prefix_len + k]
            valid = torch.cat([valid, torch.ones_like(valid[:, :1])], 1)
            hidden, cache = self.transformer(step[:, None], valid, cache)
        return best_of_n(self.decode(torch.stack(codes, 1)), caption_embedding, n)

    def _check_fitted(self) -> None:
        if self._known_fitted:
            return
        if not bool(self.fitted):
            raise RuntimeError(
                "ar_prior has no fitted PCA and bins: call fit_statistics(image_embeddings, text_embeddings) "
                "on training data first, or load trained weights"
            )
        self._known_fitted = True
