"""Building components on PyTorch's meta device: every tensor has its shape and dtype, none has
memory, so a graph of billions of parameters builds in about a second on any machine."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import torch
from torch.utils._python_dispatch import TorchDispatchMode

META = torch.device("meta")


class _StayOnMeta(TorchDispatchMode):
    """A component may move itself to a device while it builds (a model library that ends its
    constructor with `.to("cpu")`); a meta tensor has nothing to copy, so it stays on meta."""

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func is torch.ops.aten._to_copy.default and kwargs.get("device") is not None and args[0].device == META:
            kwargs = {**kwargs, "device": META}
        return func(*args, **kwargs)


@contextmanager
def on_meta() -> Iterator[None]:
    """Tensors made inside the block, and modules built inside it, live on the meta device."""
    with torch.device(META), _StayOnMeta():
        yield


def build_on_meta(build: Any, *args: Any, **kwargs: Any) -> Any:
    """`build(*args, **kwargs)` with every tensor it makes on the meta device."""
    with on_meta():
        return build(*args, **kwargs)
