"""Gaussian diffusion math shared by every diffusion component and sampler."""

from .denoiser import Denoiser, StepCallback
from .evaluate import Evaluate, evaluator
from .gaussian import GaussianDiffusion
from .guidance import chained_guidance, dynamic_threshold, guided_denoiser
from .inpainting import check_inpainting, keep_known, paste_known
from .inversion import ddim_invert
from .loop import History, Step, sampling_loop
from .noise import randn_like
from .parameterization import Prediction, eps_from_x0, training_target, x0_from_prediction
from .resample import resampling_loop, resampling_path
from .schedule import NoiseSchedule, ScheduleKind
from .spacing import SPACINGS, Spacing, spaced_timesteps

__all__ = [
    "Denoiser",
    "Evaluate",
    "GaussianDiffusion",
    "History",
    "NoiseSchedule",
    "Prediction",
    "SPACINGS",
    "ScheduleKind",
    "Spacing",
    "Step",
    "StepCallback",
    "chained_guidance",
    "check_inpainting",
    "ddim_invert",
    "dynamic_threshold",
    "eps_from_x0",
    "evaluator",
    "guided_denoiser",
    "keep_known",
    "paste_known",
    "randn_like",
    "resampling_loop",
    "resampling_path",
    "sampling_loop",
    "spaced_timesteps",
    "training_target",
    "x0_from_prediction",
]
