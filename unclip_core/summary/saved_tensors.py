"""The bytes autograd keeps for the backward pass: a training step's activation memory.

Measured by `torch.autograd.graph.saved_tensors_hooks` during the forward pass: every tensor an
operation saves for its gradient is seen once, and each storage counts once however many
operations save a view of it. The module's own weights and buffers are left out (they are model
state, counted apart). It counts the same on a real device and on tensors without data, which
is how tests check the pretend GPU against a real run.

Attention is counted as a GPU runs it. Off a GPU, `F.scaled_dot_product_attention` runs PyTorch's
math path, which keeps the whole attention matrix (queries x keys per head); on a GPU a fused
kernel (flash or memory-efficient attention) keeps q, k, v, the output and one float32
logsumexp per query instead. The math path's matrices (the output of its softmax, and of the
dropout on it) are left out and a logsumexp per query counted in their place.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import torch
from torch import Tensor
from torch.utils._python_dispatch import TorchDispatchMode

aten = torch.ops.aten
LOGSUMEXP_BYTES = 4  # float32, one per query row


def storage_key(tensor: Tensor) -> int:
    """One number per storage: views of one tensor share it."""
    return tensor.untyped_storage()._cdata


class _MathAttention(TorchDispatchMode):
    """Notes the attention matrices the math path makes, and what a fused kernel keeps instead."""

    def __init__(self) -> None:
        super().__init__()
        self.matrices: list[Tensor] = []  # held, so no other tensor reuses their storages meanwhile
        self.keys: set[int] = set()
        self.logsumexp_bytes = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        if func is aten._safe_softmax.default:  # the math path's softmax, used by nothing else
            self._note(out)
            self.logsumexp_bytes += out[..., 0].numel() * LOGSUMEXP_BYTES
        elif func is aten.native_dropout.default and storage_key(args[0]) in self.keys:
            for tensor in out:
                self._note(tensor)
        return out

    def _note(self, tensor: Tensor) -> None:
        self.matrices.append(tensor)
        self.keys.add(storage_key(tensor))


def bytes_kept_for_backward(forward: Callable[[], object], state: Iterable[Tensor]) -> int:
    """Bytes autograd keeps while `forward()` runs, less those of `state` (weights, buffers)."""
    excluded = {storage_key(tensor) for tensor in state}
    kept: dict[int, int] = {}

    def pack(tensor: Tensor) -> Tensor:
        kept.setdefault(storage_key(tensor), tensor.untyped_storage().nbytes())
        return tensor

    attention = _MathAttention()
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda tensor: tensor), attention:
        forward()
    excluded |= attention.keys
    return sum(size for key, size in kept.items() if key not in excluded) + attention.logsumexp_bytes
