"""Contract test bases that built-in and third-party components pass.

A plugin author subclasses a contract in their own tests and fills in the fixtures:

    from unclip_core.testing import SamplerContract

    class TestMySampler(SamplerContract):
        sampler_type = "my_sampler"

pytest collects the inherited tests. Each contract builds components through the registry,
so it also proves the plugin is registered and its config validates.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, ClassVar

import pytest
import torch

from .diffusion import NoiseSchedule
from .graph import build_node, validate_node
from .plugins import build_registry, get_registry, plugin_manager, set_registry
from .registry import Registry


def gaussian_denoiser(schedule: NoiseSchedule, mean: float, std: float):
    """The exact E[x0 | x_t] when x0 ~ N(mean, std^2) per dimension: an analytic test model."""

    def denoise(x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        alpha, sigma = schedule.alpha(t, x), schedule.sigma(t, x)
        gain = alpha * std**2 / (alpha**2 * std**2 + sigma**2)
        return mean + gain * (x - alpha * mean)

    return denoise


def build_component(kind: str, section: dict[str, Any], **dependencies: Any) -> Any:
    """Validate a YAML-like section and build it through the registry, as a graph would."""
    registry = get_registry()
    return build_node(validate_node(kind, kind, section, registry), registry, **dependencies)


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


class SamplerContract:
    """Every sampler draws the right distribution on Gaussian data and keeps known pixels."""

    sampler_type: ClassVar[str]
    sampler_options: ClassVar[dict[str, Any]] = {}
    # Tolerances on the sample mean and standard deviation (data: mean 0.5, std 0.3).
    tolerance: ClassVar[float] = 0.05
    schedule_kinds: ClassVar[tuple[str, ...]] = ("cosine", "linear")

    def make_sampler(self, **options: Any):
        return build_component("sampler", {"type": self.sampler_type, **self.sampler_options, **options})

    @pytest.mark.parametrize("kind", ["cosine", "linear"])
    def test_matches_gaussian_data(self, kind: str) -> None:
        if kind not in self.schedule_kinds:
            pytest.skip(f"{self.sampler_type} is not claimed to work on the {kind} schedule")
        schedule = NoiseSchedule.make(kind, 1000)
        sampler = self.make_sampler()
        generator = torch.Generator().manual_seed(0)
        noise = torch.randn(4000, 8, generator=generator)
        x0 = sampler.sample(gaussian_denoiser(schedule, 0.5, 0.3), noise, schedule, generator=generator)
        assert x0.shape == noise.shape
        assert abs(x0.mean().item() - 0.5) < self.tolerance
        assert abs(x0.std().item() - 0.3) < self.tolerance

    def test_keeps_known_region(self) -> None:
        schedule = NoiseSchedule.make("cosine", 1000)
        sampler = self.make_sampler()
        generator = torch.Generator().manual_seed(1)
        known = torch.full((64, 2, 4, 4), 0.7)
        mask = torch.zeros_like(known)
        mask[..., :2] = 1  # left half generated, right half known
        out = sampler.sample(
            gaussian_denoiser(schedule, -0.5, 0.2), torch.randn(known.shape, generator=generator), schedule,
            generator=generator, mask=mask, known=known,
        )
        assert torch.equal(out[..., 2:], known[..., 2:])
        assert abs(out[..., :2].mean().item() + 0.5) < 0.1

    def test_calls_back_once_per_step(self) -> None:
        schedule = NoiseSchedule.make("cosine", 100)
        sampler = self.make_sampler(steps=7)
        seen: list[int] = []
        sampler.sample(gaussian_denoiser(schedule, 0.0, 1.0), torch.randn(2, 3), schedule, callback=lambda i, x, x0: seen.append(i))
        assert seen == list(range(7))

    def test_same_generator_same_sample(self) -> None:
        schedule = NoiseSchedule.make("cosine", 100)
        sampler = self.make_sampler(steps=10)
        denoise = gaussian_denoiser(schedule, 0.0, 0.5)

        def draw() -> torch.Tensor:
            generator = torch.Generator().manual_seed(3)
            return sampler.sample(denoise, torch.randn(16, 4, generator=generator), schedule, generator=generator)

        assert torch.equal(draw(), draw())


class EncoderContract:
    """Every encoder returns normalized embeddings of the dimensions its spec states."""

    encoder_section: ClassVar[dict[str, Any]]
    captions: ClassVar[list[str]] = ["a small red circle at the top left", "a large blue square", "x"]

    @pytest.fixture(scope="class")
    def encoder(self):
        return build_component("encoder", dict(self.encoder_section)).eval()

    def test_text_encoding_matches_spec(self, encoder) -> None:
        spec = encoder.spec
        with torch.no_grad():
            text = encoder.embed_texts(self.captions)
        n = len(self.captions)
        assert text.embedding.shape == (n, spec.embed_dim)
        assert text.tokens.shape == (n, spec.context_length, spec.text_width)
        assert text.mask.shape == (n, spec.context_length) and text.mask.dtype == torch.bool
        torch.testing.assert_close(text.embedding.norm(dim=-1), torch.ones(n))
        # Longer captions have more real tokens; every caption has at least start and end.
        counts = text.mask.sum(-1)
        assert counts[0] > counts[1] > counts[2] >= 2

    def test_image_embedding_matches_spec(self, encoder) -> None:
        images = torch.rand(2, 3, encoder.spec.image_size, encoder.spec.image_size) * 2 - 1
        with torch.no_grad():
            z_i = encoder.encode_image(images)
            resized = encoder.encode_image(torch.nn.functional.interpolate(images, scale_factor=2))
        assert z_i.shape == (2, encoder.spec.embed_dim)
        torch.testing.assert_close(z_i.norm(dim=-1), torch.ones(2))
        assert resized.shape == z_i.shape  # other sizes are resized, not rejected

    def test_batching_does_not_change_results(self, encoder) -> None:
        with torch.no_grad():
            together = encoder.embed_texts(self.captions).embedding
            alone = encoder.embed_texts(self.captions[:1]).embedding
        torch.testing.assert_close(together[:1], alone, atol=1e-5, rtol=1e-5)
