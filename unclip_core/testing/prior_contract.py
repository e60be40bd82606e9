"""The contract every prior passes."""

from __future__ import annotations

from typing import Any, ClassVar

import pytest
import torch

from ..interfaces import EncoderSpec, TextEncoding
from .helpers import build_component, check_sampler_refuses_what_sample_refuses, synthetic_prior_task


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

    def test_a_sampler_it_cannot_run_is_refused_before_sampling(self) -> None:
        prior, text = self.fitted_prior(), self.captions()
        if prior.sampler is None:
            pytest.skip("this prior does not sample by diffusion")
        check_sampler_refuses_what_sample_refuses(prior, lambda sampler: self.draw(prior, text, sampler=sampler))

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
        from ..weights import load_module, save_folder

        prior, text = self.fitted_prior(), self.captions()
        fresh = self.make_prior().eval()
        if prior.state_dict():
            folder = save_folder(tmp_path / "pipeline", "prior: {}\n", {"prior": prior})
            load_module(fresh, folder / "prior.safetensors")
        assert torch.equal(self.draw(prior, text), self.draw(fresh, text))
