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
from .interfaces import Decoder, EncoderSpec, TextEncoding, Upsampler
from .plugins import build_registry, get_registry, plugin_manager, set_registry
from .registry import Registry
from .weights import load_module, save_folder


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


# ---- priors -------------------------------------------------------------------------------
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


class PriorContract:
    """Every prior returns unit-norm (B, embed_dim) embeddings, ignores caption padding, is
    reproducible under a seeded generator, and saves and loads through safetensors.

    Priors are built through the registry against `spec` and fitted on `synthetic_prior_task`
    data; they are not trained, so these checks are fast.
    """

    prior_type: ClassVar[str]
    prior_options: ClassVar[dict[str, Any]] = {}
    spec: ClassVar[EncoderSpec] = EncoderSpec(embed_dim=32, text_width=16, context_length=8, image_size=32)
    fit_items: ClassVar[int] = 512

    def make_prior(self, **options: Any):
        section = {"type": self.prior_type, **self.prior_options, **options}
        return build_component("prior", section, spec=self.spec)

    def fitted_prior(self, **options: Any):
        prior = self.make_prior(**options)
        z_i, text = synthetic_prior_task(self.spec, self.fit_items, seed=0)
        prior.fit_statistics(z_i, text.embedding)
        return prior.eval()

    def captions(self, n: int = 6) -> TextEncoding:
        return synthetic_prior_task(self.spec, n, seed=1)[1]

    def draw(self, prior, text: TextEncoding, seed: int = 0, **options: Any) -> torch.Tensor:
        return prior.sample(text, generator=torch.Generator().manual_seed(seed), **options)

    @pytest.mark.parametrize("batch", [1, 5])
    def test_samples_are_unit_norm_embeddings(self, batch: int) -> None:
        prior = self.fitted_prior()
        for guidance in (None, 2.0):
            out = self.draw(prior, self.captions(batch), guidance_scale=guidance)
            assert out.shape == (batch, self.spec.embed_dim)
            assert torch.isfinite(out).all()
            torch.testing.assert_close(out.norm(dim=-1), torch.ones(batch), atol=1e-4, rtol=0)

    def test_same_generator_same_sample(self) -> None:
        prior, text = self.fitted_prior(), self.captions()
        assert torch.equal(self.draw(prior, text, seed=3), self.draw(prior, text, seed=3))

    def test_caption_padding_is_ignored(self) -> None:
        prior, text = self.fitted_prior(), self.captions()
        noise = torch.randn(text.tokens.shape, generator=torch.Generator().manual_seed(9))
        garbled = TextEncoding(text.embedding, torch.where(text.mask[..., None], text.tokens, noise), text.mask)
        torch.testing.assert_close(self.draw(prior, text), self.draw(prior, garbled), atol=1e-5, rtol=1e-5)

    def test_loss_is_a_differentiable_scalar(self) -> None:
        prior = self.fitted_prior().train()
        if not prior.trainable:
            assert not list(prior.parameters()), "a prior with trainable = False should have no parameters"
            return
        z_i, text = synthetic_prior_task(self.spec, 16, seed=2)
        loss = prior.loss(z_i, text)
        assert loss.ndim == 0 and torch.isfinite(loss)
        loss.backward()
        grads = [p.grad for p in prior.parameters() if p.requires_grad]
        assert grads and all(g is not None for g in grads), "every parameter should receive a gradient"

    def test_save_load_round_trip(self, tmp_path) -> None:
        from .weights import load_module, save_folder

        prior, text = self.fitted_prior(), self.captions()
        fresh = self.make_prior().eval()
        if prior.state_dict():
            folder = save_folder(tmp_path / "pipeline", "prior: {}\n", {"prior": prior})
            load_module(fresh, folder / "prior.safetensors")
        assert torch.equal(self.draw(prior, text), self.draw(fresh, text))


def every_sampler(steps: int = 3) -> list[dict[str, Any]]:
    """A short sampler section for every registered sampler type."""
    return [{"type": name, "steps": steps} for name in get_registry().names("sampler")]


def random_text(spec: EncoderSpec, batch: int, generator: torch.Generator) -> TextEncoding:
    """A caption batch shaped like the encoder's output; later rows have more padding."""
    lengths = torch.arange(batch) % spec.context_length + 1
    mask = torch.arange(spec.context_length)[None] < lengths[:, None]
    embedding = torch.nn.functional.normalize(torch.randn(batch, spec.embed_dim, generator=generator), dim=-1)
    return TextEncoding(embedding, torch.randn(batch, spec.context_length, spec.text_width, generator=generator), mask)


class DecoderContract:
    """Every decoder builds from YAML, trains, samples deterministically with any sampler,
    keeps known pixels when inpainting, inverts, and survives a save/load round trip."""

    decoder_section: ClassVar[dict[str, Any]]  # with its `sampler:`; keep it tiny
    spec: ClassVar[EncoderSpec] = EncoderSpec(embed_dim=32, text_width=24, context_length=8, image_size=32)
    batch: ClassVar[int] = 2

    def make_decoder(self, sampler: dict[str, Any] | None = None, seed: int = 0) -> Decoder:
        section = {**self.decoder_section, **({"sampler": sampler} if sampler else {})}
        torch.manual_seed(seed)
        return build_component("decoder", section, spec=self.spec).eval()

    def inputs(self, seed: int = 0) -> tuple[torch.Tensor, TextEncoding]:
        generator = torch.Generator().manual_seed(seed)
        z_i = torch.nn.functional.normalize(torch.randn(self.batch, self.spec.embed_dim, generator=generator), dim=-1)
        return z_i, random_text(self.spec, self.batch, generator)

    def images(self, decoder: Decoder, seed: int = 0) -> torch.Tensor:
        size = decoder.image_size
        return torch.rand(self.batch, 3, size, size, generator=torch.Generator().manual_seed(seed)) * 2 - 1

    def test_builds_through_the_registry(self) -> None:
        decoder = self.make_decoder()
        assert isinstance(decoder, Decoder)
        assert decoder.image_size == self.decoder_section["image_size"]

    def test_loss_is_a_finite_scalar_with_gradients(self) -> None:
        decoder = self.make_decoder().train()
        z_i, text = self.inputs()
        loss = decoder.loss(self.images(decoder), z_i, text)
        loss.backward()
        assert loss.ndim == 0 and torch.isfinite(loss)
        grads = [p.grad for p in decoder.parameters() if p.grad is not None]
        assert grads and all(torch.isfinite(g).all() for g in grads)
        assert any(g.abs().sum() > 0 for g in grads)

    def test_samples_images_in_range(self) -> None:
        decoder = self.make_decoder()
        z_i, text = self.inputs()
        out = decoder.sample(z_i, text, generator=torch.Generator().manual_seed(0))
        size = decoder.image_size
        assert out.shape == (self.batch, 3, size, size) and out.dtype == torch.float32
        assert out.min() >= -1 and out.max() <= 1

    def test_same_generator_same_sample(self) -> None:
        decoder = self.make_decoder(sampler={"type": "ddpm", "steps": 3})
        z_i, text = self.inputs()

        def draw(seed: int) -> torch.Tensor:
            return decoder.sample(z_i, text, generator=torch.Generator().manual_seed(seed))

        assert torch.equal(draw(1), draw(1))
        assert not torch.equal(draw(1), draw(2))

    def test_a_per_call_sampler_replaces_the_configured_one(self) -> None:
        ddim = {"type": "ddim", "steps": 3, "eta": 0.0}
        z_i, text = self.inputs()
        size = self.decoder_section["image_size"]
        noise = torch.randn(self.batch, 3, size, size, generator=torch.Generator().manual_seed(0))
        expected = self.make_decoder(sampler=ddim).sample(z_i, text, noise=noise)
        decoder = self.make_decoder(sampler={"type": "ddpm", "steps": 3})
        override = build_component("sampler", ddim)
        assert torch.equal(decoder.sample(z_i, text, noise=noise, sampler=override), expected)
        assert not torch.equal(decoder.sample(z_i, text, noise=noise), expected)  # only for that call

    def test_works_with_every_sampler_and_keeps_known_pixels(self) -> None:
        z_i, text = self.inputs()
        for section in every_sampler():
            decoder = self.make_decoder(sampler=section)
            known = self.images(decoder)
            mask = torch.zeros_like(known[:, :1])
            mask[..., : known.shape[-1] // 2] = 1  # generate the left half, keep the right
            out = decoder.sample(z_i, text, generator=torch.Generator().manual_seed(0), mask=mask, known=known)
            assert out.shape == known.shape and torch.isfinite(out).all(), section
            assert torch.equal(out * (1 - mask), known * (1 - mask)), f"sampler {section['type']} changed known pixels"

    def test_inverts_to_noise_shaped_latents(self) -> None:
        decoder = self.make_decoder(sampler={"type": "ddim", "steps": 3})
        z_i, text = self.inputs()
        images = self.images(decoder)
        x_T = decoder.invert(images, z_i, text)
        assert x_T.shape == images.shape and torch.isfinite(x_T).all()

    def test_save_load_round_trip(self, tmp_path) -> None:
        decoder = self.make_decoder(seed=0)
        folder = save_folder(tmp_path / "pipeline", "{}\n", {"decoder": decoder})
        other = self.make_decoder(seed=1)
        load_module(other, folder / "decoder.safetensors")
        z_i, text = self.inputs()
        noise = torch.randn(self.batch, 3, decoder.image_size, decoder.image_size, generator=torch.Generator().manual_seed(0))
        for a, b in zip(decoder.state_dict().values(), other.state_dict().values()):
            assert torch.equal(a, b)
        assert torch.equal(decoder.sample(z_i, text, noise=noise), other.sample(z_i, text, noise=noise))


class UpsamplerContract:
    """Every upsampler builds from YAML, trains, samples to_size images deterministically with
    any sampler, rejects wrongly sized inputs, and survives a save/load round trip."""

    upsampler_section: ClassVar[dict[str, Any]]  # with its `sampler:`; keep it tiny
    batch: ClassVar[int] = 2

    def make_upsampler(self, sampler: dict[str, Any] | None = None, seed: int = 0) -> Upsampler:
        section = {**self.upsampler_section, **({"sampler": sampler} if sampler else {})}
        torch.manual_seed(seed)
        return build_component("upsampler", section).eval()

    def images(self, size: int, seed: int = 0) -> torch.Tensor:
        return torch.rand(self.batch, 3, size, size, generator=torch.Generator().manual_seed(seed)) * 2 - 1

    def test_builds_through_the_registry(self) -> None:
        upsampler = self.make_upsampler()
        assert isinstance(upsampler, Upsampler)
        assert (upsampler.from_size, upsampler.to_size) == (
            self.upsampler_section["from_size"], self.upsampler_section["to_size"]
        )

    def test_loss_is_a_finite_scalar_with_gradients(self) -> None:
        upsampler = self.make_upsampler().train()
        loss = upsampler.loss(self.images(upsampler.to_size))
        loss.backward()
        assert loss.ndim == 0 and torch.isfinite(loss)
        grads = [p.grad for p in upsampler.parameters() if p.grad is not None]
        assert grads and all(torch.isfinite(g).all() for g in grads)

    def test_samples_to_size_images_deterministically(self) -> None:
        upsampler = self.make_upsampler(sampler={"type": "ddpm", "steps": 3})
        low = self.images(upsampler.from_size)
        first = upsampler.sample(low, generator=torch.Generator().manual_seed(1))
        assert first.shape == (self.batch, 3, upsampler.to_size, upsampler.to_size) and first.dtype == torch.float32
        assert first.min() >= -1 and first.max() <= 1
        assert torch.equal(first, upsampler.sample(low, generator=torch.Generator().manual_seed(1)))

    def test_works_with_every_sampler(self) -> None:
        for section in every_sampler():
            upsampler = self.make_upsampler(sampler=section)
            out = upsampler.sample(self.images(upsampler.from_size), generator=torch.Generator().manual_seed(0))
            assert out.shape == (self.batch, 3, upsampler.to_size, upsampler.to_size), section
            assert torch.isfinite(out).all(), section

    def test_rejects_images_of_the_wrong_size(self) -> None:
        from .errors import InputError

        upsampler = self.make_upsampler()
        with pytest.raises(InputError, match=str(upsampler.from_size)):
            upsampler.sample(self.images(upsampler.from_size + 2))

    def test_save_load_round_trip(self, tmp_path) -> None:
        upsampler = self.make_upsampler(seed=0)
        folder = save_folder(tmp_path / "pipeline", "{}\n", {"upsampler_0": upsampler})
        other = self.make_upsampler(seed=1)
        load_module(other, folder / "upsampler_0.safetensors")
        low = self.images(upsampler.from_size)
        assert torch.equal(
            upsampler.sample(low, generator=torch.Generator().manual_seed(0)),
            other.sample(low, generator=torch.Generator().manual_seed(0)),
        )
