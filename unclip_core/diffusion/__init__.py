"""Gaussian diffusion math shared by every diffusion component and sampler."""

from .denoiser import Denoiser, StepCallback
from .gaussian import GaussianDiffusion
from .guidance import guided_denoiser
from .loop import keep_known, randn_like, sampling_loop
from .resample import resampling_loop, resampling_path
from .parameterization import Prediction, eps_from_x0, training_target, x0_from_prediction
from .schedule import NoiseSchedule, ScheduleKind

__all__ = [
    "Denoiser",
    "GaussianDiffusion",
    "StepCallback",
    "NoiseSchedule",
    "Prediction",
    "ScheduleKind",
    "eps_from_x0",
    "guided_denoiser",
    "keep_known",
    "randn_like",
    "resampling_loop",
    "resampling_path",
    "sampling_loop",
    "training_target",
    "x0_from_prediction",
]
