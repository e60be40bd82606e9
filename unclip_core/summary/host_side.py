"""The host's view of a device whose tensors hold no data (meta, or the pretend GPU).

A training step is mostly device work, which runs on shapes alone. A few things it does need
values, and get stand-ins that keep the step on the path a real step takes:

- a copy to the host (a degradation that runs a CPU codec) receives zeros of the tensor's
  shape and dtype, and the host code then runs for real on them;
- a value read back from the device (`bool(fitted)`, `.item()`) reads as 1 (true): guards such as
  "are the statistics fitted?" take the branch a trained model takes;
- tensors made and used on the host only (a random order of degradations) are real: they are
  small, and host code may read them.

Resampling (bicubic, bilinear) has no shape-only kernel in PyTorch: on meta and fake tensors it
runs a Python decomposition of hundreds of operations per call. Only the output's shape matters
here, so it is answered from the requested size; a component that builds resampling operators
once (hundreds of resizes) would otherwise take minutes.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor
from torch._subclasses.fake_tensor import FakeTensor
from torch.utils._python_dispatch import TorchDispatchMode, _disable_current_modes

aten = torch.ops.aten
HOST = torch.device("cpu")
RESAMPLING = {
    overload
    for op in (aten.upsample_bicubic2d, aten._upsample_bicubic2d_aa, aten.upsample_bilinear2d, aten._upsample_bilinear2d_aa)
    for overload in (op.default, op.vec)
}


def holds_no_data(tensor: Tensor) -> bool:
    return isinstance(tensor, FakeTensor) or tensor.device.type == "meta"


class DatalessDeviceHost(TorchDispatchMode):
    """Applies the rules above to every operation run while it is active."""

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        tensors = _tensors(args, kwargs)
        if any(holds_no_data(t) for t in tensors):
            return self._dataless(func, args, kwargs)
        target = kwargs.get("device")
        if all(t.device == HOST for t in tensors) and (target is None or torch.device(target) == HOST):
            # Host-only work runs for real, past any mode below that would make its results fake.
            with _disable_current_modes():
                return func(*args, **kwargs)
        return func(*args, **kwargs)

    def _dataless(self, func, args, kwargs):
        if func is aten._to_copy.default and kwargs.get("device") is not None and torch.device(kwargs["device"]) == HOST:
            source = args[0]
            with _disable_current_modes():
                return torch.zeros(source.shape, dtype=kwargs.get("dtype") or source.dtype)
        if func is aten.copy_.default and not holds_no_data(args[0]):
            with _disable_current_modes():
                return args[0].zero_()
        if func is aten._local_scalar_dense.default:
            return _one(args[0].dtype)
        if func in RESAMPLING:
            return _resampled(func, args, kwargs)
        return func(*args, **kwargs)


def _tensors(args, kwargs) -> list[Tensor]:
    """The tensors among an operation's arguments (ATen nests them one list deep at most)."""
    found = []
    for value in (*args, *kwargs.values()):
        if isinstance(value, Tensor):
            found.append(value)
        elif isinstance(value, (list, tuple)):
            found.extend(item for item in value if isinstance(item, Tensor))
    return found


def _one(dtype: torch.dtype) -> bool | int | float:
    if dtype == torch.bool:
        return True
    return 1.0 if dtype.is_floating_point or dtype.is_complex else 1


def _resampled(func, args, kwargs) -> Tensor:
    """An empty tensor of the resampled shape, in the input's memory format."""
    bound = dict(zip((argument.name for argument in func._schema.arguments), args))
    bound.update(kwargs)
    image = next(iter(bound.values()))
    size = bound.get("output_size")
    if size is None:
        size = [math.floor(side * factor) for side, factor in zip(image.shape[-2:], bound["scale_factors"])]
    channels_last = image.dim() == 4 and not image.is_contiguous() and image.is_contiguous(memory_format=torch.channels_last)
    out = image.new_empty((*image.shape[:-2], *size))
    return out.contiguous(memory_format=torch.channels_last) if channels_last else out
