"""A network seen through its noise schedule: the training loss, and x0 for samplers.

Every diffusion component (prior, decoder, upsampler) predicts eps, x0 or v from x_t; samplers
want x0. `GaussianDiffusion` is the one place that draws training noise, picks the target,
converts a prediction to x0, guides it and clips it, so no component writes that math again.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Generator, Tensor

from .denoiser import Denoiser
from .guidance import chained_guidance, dynamic_threshold
from .loss_weight import min_snr_weight
from .parameterization import Prediction, training_target, x0_from_prediction
from .schedule import NoiseSchedule, ScheduleKind

# network(x_t, t, conditioning) -> raw output (eps, x0 or v), conditioning a dict of batched tensors.
Network = Callable[[Tensor, Tensor, Mapping[str, Tensor]], Tensor]


@dataclass(frozen=True)
class GaussianDiffusion:
    """`schedule` and what the network predicts; `clip` bounds x0 estimates (images: 1.0; None: off);
    `min_snr_gamma` weights the loss by min-SNR-gamma (loss_weight.py; None: plain MSE)."""

    schedule: NoiseSchedule
    prediction: Prediction
    clip: float | None = None
    min_snr_gamma: float | None = None

    @classmethod
    def make(
        cls,
        schedule: ScheduleKind,
        timesteps: int,
        prediction: Prediction,
        clip: float | None = None,
        min_snr_gamma: float | None = None,
    ) -> GaussianDiffusion:
        return cls(NoiseSchedule.make(schedule, timesteps), prediction, clip, min_snr_gamma)

    def loss(
        self, network: Network, x0: Tensor, cond: Mapping[str, Tensor], generator: Generator | None = None
    ) -> Tensor:
        """MSE between the network's output and its target, at uniformly drawn timesteps,
        each sample's error weighted by min-SNR-gamma when that is set."""
        t = self.schedule.sample_timesteps(x0.shape[0], x0.device, generator)
        noise = torch.randn(x0.shape, generator=generator, device=x0.device, dtype=x0.dtype)
        alpha, sigma = self.schedule.alpha(t, x0), self.schedule.sigma(t, x0)
        output = network(alpha * x0 + sigma * noise, t, cond)
        target = training_target(self.prediction, x0, noise, alpha, sigma)
        if self.min_snr_gamma is None:
            return F.mse_loss(output.float(), target.float())
        error = (output.float() - target.float()).square()
        return (min_snr_weight(self.prediction, alpha, sigma, self.min_snr_gamma) * error).mean()

    def x0(self, output: Tensor, x_t: Tensor, t: Tensor) -> Tensor:
        """The clean sample a network output stands for at (x_t, t), unclipped."""
        alpha, sigma = self.schedule.alpha(t, x_t), self.schedule.sigma(t, x_t)
        return x0_from_prediction(self.prediction, output.to(x_t.dtype), x_t, alpha, sigma)

    def denoiser(
        self,
        network: Network,
        cond: Mapping[str, Tensor],
        uncond: Mapping[str, Tensor] | None = None,
        scale: float = 1.0,
        *,
        middle: Mapping[str, Tensor] | None = None,
        middle_scale: float = 1.0,
        interval: tuple[float, float] | None = None,
        threshold: float | None = None,
    ) -> Denoiser:
        """x_t, t -> x0 for a sampler: converted, guided toward `cond` and away from `uncond`
        (both passes in one batched call) and clipped. Guidance needs `uncond`; scale 1 is none.

        With `middle`, a conditioning between the two (z_i without the caption, say), `scale`
        guides from `uncond` to `middle` and `middle_scale` from `middle` to `cond`, three passes
        in one call. `interval` (low, high), as fractions of the schedule (0 clean, 1 pure noise),
        guides only the steps between; `threshold` replaces the fixed clip by dynamic
        thresholding at that percentile (guidance.py). All are sampling choices: no weights change.
        """
        if scale != 1.0 and uncond is None:
            raise ValueError("classifier-free guidance (scale != 1) needs the unconditional inputs `uncond`")

        def predict_x0(x: Tensor, t: Tensor, c: Mapping[str, Tensor]) -> Tensor:
            return self.x0(network(x, t, c), x, t)

        last = self.schedule.num_timesteps - 1
        # The whole schedule is plain guidance: no per-row choice at every step.
        whole = interval is None or tuple(interval) == (0.0, 1.0)
        steps = None if whole else (interval[0] * last, interval[1] * last)
        floor = uncond if uncond is not None else cond
        if middle is None:
            guided = chained_guidance(predict_x0, [floor, cond], [scale], steps)
        else:
            guided = chained_guidance(predict_x0, [floor, middle, cond], [scale, middle_scale], steps)
        if threshold is not None:
            return lambda x, t: dynamic_threshold(guided(x, t), threshold)
        if self.clip is None:
            return guided
        bound = self.clip
        return lambda x, t: guided(x, t).clamp(-bound, bound)
