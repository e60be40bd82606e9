"""Running requests: each operation of requests.py applied to a pooled pipeline, in the queue.

The page and the HTTP API both call `Operations.run`, so they queue together, validate alike and
give the same bytes for the same request.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any

from PIL import Image

from ..pipeline import Pipeline
from .model_pool import ModelPool
from .requests import (
    STAGES, GenerateRequest, InpaintRequest, InterpolateRequest, OperationRequest, OutpaintRequest, TextDiffRequest,
    VaryRequest,
)
from .result import Result
from .work_queue import WorkQueue

# progress(stage, done, total): how far the stage now sampling has got, in network evaluations.
Progress = Callable[[str, int, int], None]
SEED_RANGE = 2**31


class Operations:
    def __init__(self, pool: ModelPool, queue: WorkQueue) -> None:
        self.pool = pool
        self.queue = queue
        self._apply: dict[type[OperationRequest], Callable[..., list[Image.Image]]] = {
            GenerateRequest: self._generate,
            VaryRequest: self._vary,
            InterpolateRequest: self._interpolate,
            TextDiffRequest: self._text_diff,
            InpaintRequest: self._inpaint,
            OutpaintRequest: self._outpaint,
        }

    def run(self, request: OperationRequest, progress: Progress | None = None) -> Result:
        """The request's result; a request without a seed gets a random one, recorded in the result."""
        seed = secrets.randbelow(SEED_RANGE) if request.seed is None else request.seed
        request = request.model_copy(update={"seed": seed, "model": self.pool.resolve(request.model)})
        apply = self._apply[type(request)]
        images = self.queue.run(lambda: apply(self.pool.get(request.model), request, progress))
        animate = isinstance(request, (InterpolateRequest, TextDiffRequest))
        return Result.of(request.settings(), images, animate=animate)

    # ---- one method per operation ------------------------------------------------------------
    def _generate(self, pipe: Pipeline, r: GenerateRequest, progress: Progress | None) -> list[Image.Image]:
        options: dict[str, Any] = {
            "prior_steps": r.prior_steps, "decoder_steps": r.decoder_steps, "upsampler_steps": r.upsampler_steps,
            "prior_guidance": r.prior_guidance, "decoder_guidance": r.decoder_guidance,
            "prior_sampler": r.prior_sampler, "decoder_sampler": r.decoder_sampler,
            "upsampler_sampler": r.upsampler_sampler,
            **r.stage_options(),
        }
        callback = None
        if progress is not None:
            totals = evaluations_per_stage(pipe, r)
            callback = lambda stage, i, x_t, x0: progress(stage, i + 1, totals.get(stage, i + 1))  # noqa: E731
        return pipe(r.prompts, num_images=r.num_images, seed=r.seed, progress=False, callback=callback, **options)

    def _vary(self, pipe: Pipeline, r: VaryRequest, progress: Progress | None) -> list[Image.Image]:
        return pipe.vary(r.image, n=r.n, eta=r.eta, ddim_steps=r.ddim_steps, seed=r.seed, **r.stage_options())

    def _interpolate(self, pipe: Pipeline, r: InterpolateRequest, progress: Progress | None) -> list[Image.Image]:
        a, b = r.images if r.images is not None else (None, None)
        prompts = list(r.prompts) if r.prompts is not None else None
        return pipe.interpolate(
            a, b, prompts=prompts, frames=r.frames, latent=r.latent, ddim_steps=r.ddim_steps, seed=r.seed,
            **r.stage_options(),
        )

    def _text_diff(self, pipe: Pipeline, r: TextDiffRequest, progress: Progress | None) -> list[Image.Image]:
        return pipe.text_diff(
            r.image, r.source, r.target, steps=r.steps, max_theta=r.max_theta, ddim_steps=r.ddim_steps, seed=r.seed,
            **r.stage_options(),
        )

    def _inpaint(self, pipe: Pipeline, r: InpaintRequest, progress: Progress | None) -> list[Image.Image]:
        return pipe.inpaint(r.image, r.mask, r.prompt or None, n=r.n, seed=r.seed, **r.stage_options())

    def _outpaint(self, pipe: Pipeline, r: OutpaintRequest, progress: Progress | None) -> list[Image.Image]:
        return pipe.outpaint(
            r.image, r.prompt or None, pad_left=r.pad_left, pad_right=r.pad_right, pad_top=r.pad_top,
            pad_bottom=r.pad_bottom, n=r.n, seed=r.seed, **r.stage_options(),
        )


def evaluations_per_stage(pipe: Pipeline, r: GenerateRequest) -> dict[str, int]:
    """Stage label -> network evaluations this request makes there (what progress counts up to).

    Builds each stage's sampler for the request as `Pipeline.generate` does (with the same
    method), so a bad sampler or step count is reported before any sampling starts.
    """
    choices = r.model_dump(include={f"{stage}_{part}" for stage in STAGES for part in ("sampler", "steps")})
    totals = {}
    for label, component, sampler in pipe.stage_samplers(**choices):
        used = sampler or component.sampler  # None: the stage does not sample by diffusion
        if used is not None:
            totals[label] = used.evaluations
    return totals
