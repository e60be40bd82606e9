"""The contract every encoder passes."""

from __future__ import annotations

from typing import Any, ClassVar

import pytest
import torch

from .helpers import build_component


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
        # Longer captions have more real tokens; every caption has at least one.
        counts = text.mask.sum(-1)
        assert counts[0] > counts[1] > counts[2] >= 1

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
