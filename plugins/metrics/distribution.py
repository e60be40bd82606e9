"""`fid` and `kid`: how far generated images lie from the true ones, as distributions of features.

Both come from torchmetrics. Features are the pipeline's own CLIP image embeddings, so the
numbers run offline and are comparable between variants of one model (not with published
Inception FIDs). A local Inception weight file switches to the classic features.
"""

from __future__ import annotations

import warnings
from typing import ClassVar

import torch
from pydantic import Field

from unclip_core.errors import InputError
from unclip_core.interfaces import ComponentConfig, Metric, Samples

from .features import ClipImageFeatures, checked_inception_weights, to_unit_range


class DistributionConfig(ComponentConfig):
    inception_weights: str | None = Field(
        None, description="Local Inception weight file (needs torch-fidelity); null uses the model's CLIP image tower."
    )


class KIDConfig(DistributionConfig):
    subsets: int = Field(50, ge=1, description="Random subsets the MMD is averaged over.")
    subset_size: int = Field(100, ge=2, description="Images per subset; capped at the number of images.")


class _DistributionMetric(Metric):
    needs_references: ClassVar[bool] = True
    higher_is_better: ClassVar[bool] = False

    def prepare(self, samples: Samples) -> tuple[dict[str, object], bool]:
        """Check the samples; return torchmetrics' feature arguments and whether images go in as
        [0, 1] (Inception) or stay in [-1, 1] (the model's CLIP)."""
        self.check(samples)
        if len(samples.images) < 2:
            raise InputError(f"metric '{self.name}' needs at least 2 images per seed, got {len(samples.images)}; add prompts")
        weights = self.config.inception_weights
        if weights is None:
            return {"feature": ClipImageFeatures(samples.encoder)}, False
        return {"feature": 2048, "normalize": True, "feature_extractor_weights_path": checked_inception_weights(weights)}, True

    def filled(self, metric, samples: Samples, unit_range: bool):
        convert = to_unit_range if unit_range else (lambda images: images)
        metric.update(convert(samples.references), real=True)
        metric.update(convert(samples.images), real=False)
        return metric


class FID(_DistributionMetric):
    """Frechet distance between feature distributions of generated and true images (torchmetrics)."""

    name: ClassVar[str] = "fid"
    Config: ClassVar[type[DistributionConfig]] = DistributionConfig

    def measure(self, samples: Samples) -> dict[str, float]:
        options, unit_range = self.prepare(samples)
        from torchmetrics.image.fid import FrechetInceptionDistance  # here: loading every plugin stays quick

        metric = self.filled(FrechetInceptionDistance(**options), samples, unit_range)
        # Fewer images than feature dimensions leave both covariances singular; the trace
        # formula still holds, but tiny negative eigenvalues from rounding must not count.
        return {"fid": max(float(metric.compute()), 0.0)}


class KID(_DistributionMetric):
    """Kernel (polynomial MMD) distance between generated and true image features (torchmetrics); unbiased at small sizes."""

    name: ClassVar[str] = "kid"
    Config: ClassVar[type[KIDConfig]] = KIDConfig

    def measure(self, samples: Samples) -> dict[str, float]:
        options, unit_range = self.prepare(samples)
        size = min(self.config.subset_size, len(samples.images))
        with warnings.catch_warnings():  # its note that features are kept in memory: ours are a few hundred
            warnings.simplefilter("ignore", UserWarning)
            from torchmetrics.image.kid import KernelInceptionDistance

            metric = KernelInceptionDistance(subsets=self.config.subsets, subset_size=size, **options)
        self.filled(metric, samples, unit_range)
        # torchmetrics draws its subsets from the global generator: fix it, and leave it as it was.
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(samples.seed)
            mean, _ = metric.compute()
        return {"kid": float(mean)}
