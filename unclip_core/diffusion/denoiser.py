"""The callable types samplers work with."""

from collections.abc import Callable

from torch import Tensor

# denoise(x_t, t) -> predicted x0, with t a (B,) long tensor of timesteps.
Denoiser = Callable[[Tensor, Tensor], Tensor]
# callback(step_index, x_t, predicted_x0), called once per network evaluation.
StepCallback = Callable[[int, Tensor, Tensor], None]
