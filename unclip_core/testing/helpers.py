"""Building blocks for tests: analytic denoisers, components built as a graph would, in-process plugins, synthetic data."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import torch

from ..diffusion import NoiseSchedule
from ..errors import InputError
from ..graph import build_section
from ..interfaces import EncoderSpec, Sampler, SamplingStage, TextEncoding
from ..plugins import build_registry, get_registry, plugin_manager, set_registry
from ..registry import Registry


def gaussian_denoiser(schedule: NoiseSchedule, mean: float, std: float):
    """The exact E[x0 | x_t] when x0 ~ N(mean, std^2) per dimension: an analytic test model."""

    def denoise(x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        alpha, sigma = schedule.alpha(t, x), schedule.sigma(t, x)
        gain = alpha * std**2 / (alpha**2 * std**2 + sigma**2)
        return mean + gain * (x - alpha * mean)

    return denoise


def build_component(kind: str, section: dict[str, Any], **dependencies: Any) -> Any:
    """Validate a YAML-like section and build it through the registry, as a graph would."""
    return build_section(kind, kind, section, **dependencies)


# More steps than any noise schedule has timesteps: a sampler every sampling stage refuses.
TOO_MANY_STEPS = 10**6


def check_sampler_refuses_what_sample_refuses(stage: SamplingStage, sample: Callable[[Sampler], Any]) -> None:
    """`stage.check_sampler` accepts the stage's own sampler and refuses that sampler with
    TOO_MANY_STEPS, as `sample(sampler)` (the stage sampling with it) does: what lets a
    pipeline refuse a call before any stage runs."""
    import pytest  # here, not above: non-test code (`unclip heun-demo`) imports this module

    own = stage.sampler
    stage.check_sampler(own)
    too_many = build_section("sampler", "sampler", {"type": own.name, **own.config.model_dump(), "steps": TOO_MANY_STEPS})
    with pytest.raises(InputError):
        stage.check_sampler(too_many)
    with pytest.raises(InputError):
        sample(too_many)


@contextmanager
def installed_plugins(**plugins: object) -> Iterator[Registry]:
    """Register extra plugin objects (name=plugin) through a real PluginManager for a block.

    Inside the block they are part of the process-wide registry, exactly as if an installed
    package had declared them as entry points.
    """
    registry = build_registry(plugin_manager(extra=plugins.items()))
    previous = set_registry(registry)
    try:
        yield registry
    finally:
        set_registry(previous)




def synthetic_prior_task(spec: EncoderSpec, n: int, *, seed: int, task_seed: int = 1234, noise: float = 0.5) -> tuple[torch.Tensor, TextEncoding]:
    """n caption encodings and image embeddings with a known relation, no CLIP needed.

    z_t is unit-norm with most of its variance in a rank-D/4 subspace (as real CLIP embeddings
    have a decaying spectrum); z_i = normalize(A z_t + noise) for a fixed random A that mixes
    z_t with a rotation, so z_t alone (the caption-only baseline) is a poor guess for z_i.
    Per-token encodings are a fixed projection of z_t, with random caption lengths. `task_seed`
    fixes the relation (A, the projections); `seed` draws the pairs.
    """
    dim, width, length = spec.embed_dim, spec.text_width, spec.context_length
    task = torch.Generator().manual_seed(task_seed)
    rank = max(dim // 4, 1)
    basis = torch.linalg.qr(torch.randn(dim, dim, generator=task))[0]
    mixing = 0.35 * torch.eye(dim) + torch.linalg.qr(torch.randn(dim, dim, generator=task))[0]
    to_tokens = torch.randn(dim, length * width, generator=task) / dim**0.5
    g = torch.Generator().manual_seed(seed)
    latent = torch.randn(n, rank, generator=g) @ basis[:rank] + 0.1 * torch.randn(n, dim, generator=g)
    z_t = torch.nn.functional.normalize(latent, dim=-1)
    z_i = torch.nn.functional.normalize(z_t @ mixing.T + noise / dim**0.5 * torch.randn(n, dim, generator=g), dim=-1)
    tokens = torch.tanh(dim**0.5 * z_t @ to_tokens).view(n, length, width)
    lengths = torch.randint(1, length + 1, (n,), generator=g)
    mask = torch.arange(length)[None, :] < lengths[:, None]
    return z_i, TextEncoding(z_t, tokens * mask[..., None], mask)




def every_sampler(steps: int = 3) -> list[dict[str, Any]]:
    """A short sampler section for every registered sampler type."""
    return [{"type": name, "steps": steps} for name in get_registry().names("sampler")]


def random_text(spec: EncoderSpec, batch: int, generator: torch.Generator) -> TextEncoding:
    """A caption batch shaped like the encoder's output; later rows have more padding."""
    lengths = torch.arange(batch) % spec.context_length + 1
    mask = torch.arange(spec.context_length)[None] < lengths[:, None]
    embedding = torch.nn.functional.normalize(torch.randn(batch, spec.embed_dim, generator=generator), dim=-1)
    return TextEncoding(embedding, torch.randn(batch, spec.context_length, spec.text_width, generator=generator), mask)
