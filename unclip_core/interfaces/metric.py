"""A metric: scores one set of generated images (one variant, one seed) as named numbers."""

from __future__ import annotations

from abc import ABC
from dataclasses import dataclass
from typing import ClassVar

from torch import Tensor

from ..errors import InputError
from .component import Component, ComponentConfig
from .encoder import Encoder
from .prior import Prior


@dataclass(frozen=True)
class Samples:
    """What a metric sees: the generated images and everything needed to judge them.

    `prompts[k]` is the caption image k was generated from (prompt-major when several images
    share a prompt). `references[k]`, when the prompts came from a data set, is the true image
    of that caption; None for plain prompt lists. `encoder` and `prior` are the pipeline's own,
    so embedding-based metrics run offline on the model being measured. `seed` fixes any
    sampling a metric does itself (e.g. drawing z_i from the prior).
    """

    prompts: list[str]
    images: Tensor
    encoder: Encoder
    references: Tensor | None = None
    prior: Prior | None = None
    seed: int = 0

    def __post_init__(self) -> None:
        if len(self.prompts) != len(self.images):
            raise ValueError(f"{len(self.prompts)} prompts for {len(self.images)} images; give one prompt per image")
        if self.references is not None and len(self.references) != len(self.images):
            raise ValueError(f"{len(self.references)} reference images for {len(self.images)} images")


class Metric(Component, ABC):
    """Scores generated images; `measure` returns {column: value}, each column prefixed by `name`.

    `direction(column)` tells tables which end of a column is best. A metric that compares
    against true images sets `needs_references` (one that draws from the prior sets
    `needs_prior`, and one that compares the images of a prompt with each other raises
    `min_images_per_prompt`); experiments check all three before generating anything.
    """

    kind: ClassVar[str] = "metric"
    Config: ClassVar[type[ComponentConfig]] = ComponentConfig
    higher_is_better: ClassVar[bool] = True
    needs_references: ClassVar[bool] = False
    needs_prior: ClassVar[bool] = False
    min_images_per_prompt: ClassVar[int] = 1

    def __init__(self, config: ComponentConfig) -> None:
        self.config = config

    def direction(self, column: str) -> str | None:
        """'higher' or 'lower' when that end of `column` is better; None when neither is."""
        return "higher" if self.higher_is_better else "lower"

    def measure(self, samples: Samples) -> dict[str, float]:
        """Column name -> value for this set of images. The default is the means of `per_image`;
        a metric of the whole set (FID), or one with columns beyond those means, overrides it."""
        return means(self.per_image(samples))

    def per_image(self, samples: Samples) -> dict[str, Tensor]:
        """The columns that are a mean over the images, as each image's value (one per image, in
        `samples.images`' order), whose mean is what `measure` reports. Experiments resample
        prompts from them for 95% intervals and for paired differences between variants, which a
        single number per set cannot give. {} (the default) for metrics of the whole set only,
        such as FID. A metric implements `per_image`, `measure`, or both."""
        return {}

    def measure_with_images(self, samples: Samples) -> tuple[dict[str, float], dict[str, Tensor]]:
        """`measure` and `per_image` together, measuring the images once when `measure` is the
        default (the means of `per_image`)."""
        values = self.per_image(samples)
        if type(self).measure is Metric.measure:
            return means(values), values
        return self.measure(samples), values

    def check(self, samples: Samples) -> None:
        """Raise InputError when `samples` lacks what this metric needs (call at the top of measure)."""
        if self.needs_references and samples.references is None:
            raise InputError(
                f"metric '{self.name}' compares with true images, but the prompts came without any; "
                "take prompts from a data set split, e.g. prompts: shapes:val"
            )
        if self.needs_prior and samples.prior is None:
            raise InputError(f"metric '{self.name}' needs the pipeline's prior, and this pipeline has none")


def means(per_image: dict[str, Tensor]) -> dict[str, float]:
    """Each column's mean over the images: `measure`'s numbers from `per_image`'s."""
    return {column: values.double().mean().item() for column, values in per_image.items()}
