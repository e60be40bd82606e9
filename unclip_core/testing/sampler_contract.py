"""The contract every sampler passes."""

from __future__ import annotations

from typing import Any, ClassVar

import pytest
import torch

from ..diffusion import NoiseSchedule
from .helpers import build_component, gaussian_denoiser


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

    @pytest.mark.parametrize("inpainting", [False, True])
    def test_calls_back_once_per_evaluation(self, inpainting: bool) -> None:
        """The callback fires once per network evaluation, indexed 0, 1, ..., and `evaluations`
        says beforehand how many there will be (progress bars rely on it)."""
        schedule = NoiseSchedule.make("cosine", 100)
        sampler = self.make_sampler(steps=7)
        denoise = gaussian_denoiser(schedule, 0.0, 1.0)
        calls: list[int] = []
        seen: list[int] = []

        def counted(x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
            calls.append(1)
            return denoise(x, t)

        x = torch.randn(2, 3)
        known = torch.zeros_like(x) if inpainting else None
        mask = torch.ones_like(x) if inpainting else None
        sampler.sample(counted, x, schedule, callback=lambda i, x, x0: seen.append(i), mask=mask, known=known)
        assert seen == list(range(sampler.evaluations))
        assert len(calls) == sampler.evaluations

    def test_same_generator_same_sample(self) -> None:
        schedule = NoiseSchedule.make("cosine", 100)
        sampler = self.make_sampler(steps=10)
        denoise = gaussian_denoiser(schedule, 0.0, 0.5)

        def draw() -> torch.Tensor:
            generator = torch.Generator().manual_seed(3)
            return sampler.sample(denoise, torch.randn(16, 4, generator=generator), schedule, generator=generator)

        assert torch.equal(draw(), draw())
