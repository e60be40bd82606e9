"""FLOPs of one training step: its forward and its backward, counted by torch.utils.flop_counter.

The counter reads shapes only, never values, so the same count works on a real device and on
tensors that hold no data (PyTorch's meta device), where a model of billions of parameters costs
no memory. `benchmarks/train_throughput.py` and `unclip summary` both count with it.
"""

from __future__ import annotations

from collections.abc import Callable

from torch import Tensor
from torch.utils.flop_counter import FlopCounterMode


def train_step_flops(loss: Callable[[], Tensor]) -> int:
    """FLOPs of computing `loss()` and back-propagating it (the optimizer's few are left out)."""
    counter = FlopCounterMode(display=False)
    with counter:
        loss().backward()
    return counter.get_total_flops()


def forward_flops(forward: Callable[[], object]) -> int:
    """FLOPs of `forward()` alone, e.g. a frozen encoder that a training step only runs forward."""
    counter = FlopCounterMode(display=False)
    with counter:
        forward()
    return counter.get_total_flops()
