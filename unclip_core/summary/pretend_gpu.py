"""A pretend CUDA device: tensors on it are fake (shapes, dtypes and a CUDA device, no memory).

The meta device answers shapes, but mixed precision is decided by the device: CUDA's autocast
casts a matmul's inputs to bf16 and a group norm's to float32, and that is what autograd keeps
for the backward pass. Fake CUDA tensors carry CUDA's dispatch keys, so the same autocast rules
apply to them on a machine without a GPU, and the bytes a step keeps can be measured as a GPU
would keep them.

The device index is the last one PyTorch's fake device guard allows (7). A component that caches
tensors per device while it runs here (resampling operators) keeps fake ones under that index, so
code that trains on an eighth GPU should not summarize in the same process first (the `unclip
summary` command has a process of its own).
One fake-tensor mode serves the whole process: fake tensors from two modes must never meet, and
component caches outlive a call.

PyTorch's autograd engine needs a real CUDA driver to run a backward pass on CUDA tensors, so the
pretend GPU runs forward passes only (which is where autograd records what it keeps).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache

import torch
from torch import nn
from torch._subclasses.fake_tensor import FakeTensorMode

from .host_side import DatalessDeviceHost

PRETEND_GPU = torch.device("cuda", 7)


class _FakeMode(FakeTensorMode):
    """FakeTensorMode, asking once whether a real accelerator is present.

    PyTorch asks at every fake tensor it makes; with Lightning imported (which switches the CUDA
    check to NVML, uncached until CUDA starts) each answer loads the NVML library again, a fifth
    of the pretend GPU's time. The answer cannot change while the process runs.
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self._no_device = super().avoid_device_init

    @property
    def avoid_device_init(self) -> bool:
        return self._no_device


@cache
def _fake_mode() -> FakeTensorMode:
    # Non-fake inputs (meta tensors a component built, host tensors) are converted, not refused.
    return _FakeMode(allow_non_fake_inputs=True)


@contextmanager
def on_pretend_gpu() -> Iterator[None]:
    """Operations on pretend-GPU tensors run on shapes; host work runs for real (host_side.py)."""
    with _fake_mode(), DatalessDeviceHost():
        yield


def move_to_pretend_gpu(module: nn.Module) -> nn.Module:
    """Move a module built on the meta device onto the pretend GPU (for good: fake tensors cannot
    be moved again). Lightning modules record the device, so `module.device` names it too."""
    with _fake_mode():
        return module.to(PRETEND_GPU)


@contextmanager
def gpu_autocast(dtype: torch.dtype | None) -> Iterator[None]:
    """CUDA autocast to `dtype` (None: off). `torch.autocast("cuda")` refuses to turn on without a
    GPU; these are the state switches it sets, set directly."""
    if dtype is None:
        yield
        return
    was_enabled, was_dtype = torch.is_autocast_enabled("cuda"), torch.get_autocast_dtype("cuda")
    torch.set_autocast_enabled("cuda", True)
    torch.set_autocast_dtype("cuda", dtype)
    torch.autocast_increment_nesting()
    try:
        yield
    finally:
        if torch.autocast_decrement_nesting() == 0:
            torch.clear_autocast_cache()
        torch.set_autocast_enabled("cuda", was_enabled)
        torch.set_autocast_dtype("cuda", was_dtype)
