"""The contracts every decoder and upsampler pass."""

from __future__ import annotations

from typing import Any, ClassVar

import pytest
import torch

from ..errors import InputError
from ..graph import build_section
from ..interfaces import Decoder, EncoderSpec, TextEncoding, Upsampler
from ..weights import load_module, save_folder
from .helpers import build_component, check_sampler_refuses_what_sample_refuses, every_sampler, random_text


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
        decoder = self.make_decoder()
        z_i, text = self.inputs()

        def draw(seed: int) -> torch.Tensor:
            return decoder.sample(z_i, text, generator=torch.Generator().manual_seed(seed))

        assert torch.equal(draw(1), draw(1))
        assert not torch.equal(draw(1), draw(2))

    def test_num_timesteps_is_the_schedule_a_sampler_walks(self) -> None:
        """Where a decoder says how many timesteps its schedule has (editing sizes its DDIM by
        it), its own sampler fits in them and a sampler asking for one more is refused."""
        decoder = self.make_decoder()
        if decoder.num_timesteps is None:
            pytest.skip("this decoder does not say how many timesteps its schedule has")
        assert isinstance(decoder.num_timesteps, int) and decoder.sampler.steps <= decoder.num_timesteps
        z_i, text = self.inputs()
        section = {**self.decoder_section["sampler"], "steps": decoder.num_timesteps + 1}  # its own sampler, one step more
        too_many = build_section("sampler", "sampler", section)
        with pytest.raises(InputError, match=f"only {decoder.num_timesteps} timesteps"):
            decoder.sample(z_i, text, sampler=too_many, generator=torch.Generator().manual_seed(0))
        with pytest.raises(InputError, match=f"only {decoder.num_timesteps} timesteps"):
            decoder.check_sampler(too_many)

    def test_a_sampler_it_cannot_run_is_refused_before_sampling(self) -> None:
        decoder = self.make_decoder()
        z_i, text = self.inputs()
        check_sampler_refuses_what_sample_refuses(decoder, lambda sampler: decoder.sample(z_i, text, sampler=sampler))

    def test_a_per_call_sampler_replaces_the_configured_one(self) -> None:
        configured = self.decoder_section["sampler"]["type"]
        other = next((s for s in every_sampler() if s["type"] != configured), None)
        if other is None:
            pytest.skip("only one sampler is registered")
        z_i, text = self.inputs()
        size = self.decoder_section["image_size"]
        noise = torch.randn(self.batch, 3, size, size, generator=torch.Generator().manual_seed(0))

        def draw(decoder: Decoder, **options: Any) -> torch.Tensor:
            return decoder.sample(z_i, text, noise=noise, generator=torch.Generator().manual_seed(1), **options)

        expected = draw(self.make_decoder(sampler=other))
        decoder = self.make_decoder()
        assert torch.equal(draw(decoder, sampler=build_component("sampler", other)), expected)
        assert not torch.equal(draw(decoder), expected)  # only for that call
        assert decoder.sampler.name == configured

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
        decoder = self.make_decoder()
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
        upsampler = self.make_upsampler()
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

    def test_a_sampler_it_cannot_run_is_refused_before_sampling(self) -> None:
        upsampler = self.make_upsampler()
        low = self.images(upsampler.from_size)
        check_sampler_refuses_what_sample_refuses(upsampler, lambda sampler: upsampler.sample(low, sampler=sampler))

    def test_rejects_images_of_the_wrong_size(self) -> None:
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
