"""The contract every metric passes."""

from __future__ import annotations

import math
from typing import Any, ClassVar

import pytest
import torch

from ..errors import InputError
from ..interfaces import Samples
from ..plugins import get_registry
from .helpers import build_component


class MetricContract:
    """Every metric returns finite numbers in columns named after it, says which end of each
    column is better, gives the same scores for the same images, leaves the images alone, and
    refuses with one clear error what it cannot measure.

    Subclasses set `metric_type` and `encoder_section` (a small encoder, e.g. an untrained
    tiny CLIP: these checks are about the contract, not about quality). Metrics that draw from
    the prior get one built from `prior_section`. `prompts` may be replaced by captions the
    metric can read. A metric that compares the images of one prompt with each other
    (`min_images_per_prompt` > 1) gets that many images of every prompt, and must refuse fewer.
    """

    metric_type: ClassVar[str]
    metric_options: ClassVar[dict[str, Any]] = {}
    encoder_section: ClassVar[dict[str, Any]]
    prior_section: ClassVar[dict[str, Any] | None] = None
    prompts: ClassVar[list[str]] = [f"a test prompt number {i}" for i in range(8)]
    image_size: ClassVar[int] = 32

    def make_metric(self, **options: Any):
        return build_component("metric", {"type": self.metric_type, **self.metric_options, **options})

    def encoder(self):
        """Built once per test class: every check measures with the same encoder."""
        cls = type(self)
        if "_built_encoder" not in cls.__dict__:
            cls._built_encoder = build_component("encoder", dict(self.encoder_section)).eval()
        return cls._built_encoder

    def samples(self, *, references: bool = True, seed: int = 0, images_per_prompt: int | None = None) -> Samples:
        """Smooth random images of `prompts`, prompt-major, as many of each prompt as the metric
        needs (or `images_per_prompt`)."""
        encoder = self.encoder()
        prior = None
        if self.prior_section is not None:
            prior = build_component("prior", dict(self.prior_section), spec=encoder.spec).eval()
        repeat = images_per_prompt or get_registry().get("metric", self.metric_type).min_images_per_prompt
        prompts = [prompt for prompt in self.prompts for _ in range(repeat)]
        generator = torch.Generator().manual_seed(seed)
        shape = (len(prompts), 3, self.image_size, self.image_size)
        # Smooth random images: a coarse random field upsampled, so they look like images rather than
        # noise; one true image a prompt, and its images that image with noise of their own.
        coarse = (torch.rand(len(self.prompts), 3, 4, 4, generator=generator) * 2 - 1).repeat_interleave(repeat, 0)
        true = torch.nn.functional.interpolate(coarse, size=self.image_size, mode="bilinear", align_corners=False)
        images = (true + 0.3 * torch.randn(shape, generator=generator)).clamp(-1, 1)
        return Samples(prompts, images, encoder, true if references else None, prior, seed)

    def test_columns_are_named_after_the_metric_and_finite(self) -> None:
        metric = self.make_metric()
        scores = metric.measure(self.samples())
        assert scores, "a metric reports at least one column"
        for column, value in scores.items():
            assert column.startswith(metric.name), f"column '{column}' should start with '{metric.name}'"
            assert isinstance(value, float) and math.isfinite(value), (column, value)

    def test_every_column_has_a_direction(self) -> None:
        metric = self.make_metric()
        for column in metric.measure(self.samples()):
            assert metric.direction(column) in ("higher", "lower", None), column

    def test_same_samples_same_scores(self) -> None:
        samples = self.samples()
        assert self.make_metric().measure(samples) == self.make_metric().measure(samples)

    def test_leaves_the_images_unchanged(self) -> None:
        samples = self.samples()
        before = samples.images.clone()
        self.make_metric().measure(samples)
        assert torch.equal(samples.images, before)

    def test_per_image_values_average_to_the_measured_columns(self) -> None:
        samples = self.samples()
        scores, values = self.make_metric().measure(samples), self.make_metric().per_image(samples)
        for column, per_image in values.items():
            assert column in scores, f"per_image column '{column}' is not one `measure` reports"
            assert per_image.shape == (len(samples.images),), (column, per_image.shape)
            assert math.isclose(per_image.double().mean().item(), scores[column], rel_tol=1e-6, abs_tol=1e-9), column

    def test_without_references_is_one_clear_error(self) -> None:
        metric = self.make_metric()
        samples = self.samples(references=False)
        if not metric.needs_references:
            metric.measure(samples)  # must not need them
            return
        with pytest.raises(InputError, match=metric.name):
            metric.measure(samples)

    def test_too_few_images_of_a_prompt_is_one_clear_error(self) -> None:
        metric = self.make_metric()
        if metric.min_images_per_prompt == 1:
            return  # any number of images a prompt will do
        with pytest.raises(InputError, match=metric.name):
            metric.measure(self.samples(images_per_prompt=metric.min_images_per_prompt - 1))
