"""The bytes autograd keeps for the backward pass: a training step's activation memory.

Measured by `torch.autograd.graph.saved_tensors_hooks` during the forward pass: every tensor an
operation saves for its gradient is seen once, and each storage counts once however many
operations save a view of it. The module's own weights and buffers are left out (they are model
state, counted apart). It counts the same on a real device and on tensors without data, which
is how tests check the pretend GPU against a real run.

Attention is counted as a GPU runs it. On tensors without data, `F.scaled_dot_product_attention`
runs PyTorch's math path, which keeps the whole attention matrix (queries x keys per head); a
fused kernel (flash or memory-efficient attention on a GPU, flash on a CPU) keeps q, k, v, the
output and one float32 logsumexp per query instead. The math path's matrices (the output of its
softmax, and of the dropout on it) are left out, and a logsumexp per query and the attention's
output (which the math path does not keep) counted in their place.

Each saved tensor is also attributed to the block running when it was saved (the blocks that
activation checkpointing wraps, training/sharding.py), so one forward pass answers both what a
plain step keeps and what a checkpointed one does: the tensors saved outside the blocks, the
blocks' inputs (which checkpointing keeps to run each block again), and, during the backward
pass, one block's insides at a time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import torch
from torch import Tensor, nn
from torch.utils._python_dispatch import TorchDispatchMode

aten = torch.ops.aten
LOGSUMEXP_BYTES = 4  # float32, one per query row
OUTSIDE = -1  # the region of tensors saved while no block runs


def storage_key(tensor: Tensor) -> int:
    """One number per storage: views of one tensor share it."""
    return tensor.untyped_storage()._cdata


@dataclass(frozen=True)
class KeptBytes:
    """What autograd keeps for one step's backward pass, by where it was saved."""

    outside: int  # saved while no block ran
    inside: tuple[int, ...]  # saved inside each block call, in call order, less any block's inputs
    block_inputs: int  # the distinct tensors the blocks were called with, less those saved outside
    block_inputs_saved: int  # the part of block_inputs that operations inside the blocks saved

    @property
    def plain(self) -> int:
        """Everything: a step without activation checkpointing keeps it all until its backward."""
        return self.outside + sum(self.inside) + self.block_inputs_saved

    @property
    def checkpointed(self) -> int:
        """A step with every block checkpointed: what is saved outside the blocks, the blocks'
        inputs, and the largest block's insides, which its backward recomputes one at a time."""
        return self.outside + self.block_inputs + max(self.inside, default=0)


class _Regions:
    """Which block (by call) is running; nested blocks belong to the outermost one, which is the
    region a checkpoint of it recomputes."""

    def __init__(self, blocks: Sequence[nn.Module]) -> None:
        self.current, self.calls, self._depth = OUTSIDE, 0, 0
        self.inputs: dict[int, int] = {}  # storage -> bytes, for tensors blocks were called with
        self._held: list[Tensor] = []  # as a checkpoint holds them: no later tensor reuses their storages
        self._handles = [
            handle for block in blocks for handle in (
                block.register_forward_pre_hook(self._enter, with_kwargs=True),
                block.register_forward_hook(self._leave, always_call=True),
            )
        ]

    def _enter(self, module, args, kwargs) -> None:
        if self._depth == 0:
            self.current, self.calls = self.calls, self.calls + 1
            for value in (*args, *kwargs.values()):
                if isinstance(value, Tensor):
                    self.inputs.setdefault(storage_key(value), value.untyped_storage().nbytes())
                    self._held.append(value)
        self._depth += 1

    def _leave(self, *_) -> None:
        self._depth -= 1
        if self._depth == 0:
            self.current = OUTSIDE

    def close(self) -> None:
        for handle in self._handles:
            handle.remove()
        self._held.clear()


class _MathAttention(TorchDispatchMode):
    """Notes the attention matrices the math path makes, and what a fused kernel keeps instead."""

    def __init__(self, regions: _Regions) -> None:
        super().__init__()
        self.regions = regions
        self.matrices: list[Tensor] = []  # held, so no other tensor reuses their storages meanwhile
        self.keys: set[int] = set()
        self.logsumexp_bytes: dict[int, int] = {}  # region -> bytes
        self.outputs: list[tuple[Tensor, int]] = []  # (attention output, region): a fused kernel keeps it

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        if func is aten._safe_softmax.default:  # the math path's softmax, used by nothing else
            self._note(out)
            region = self.regions.current
            self.logsumexp_bytes[region] = self.logsumexp_bytes.get(region, 0) + out[..., 0].numel() * LOGSUMEXP_BYTES
        elif func is aten.native_dropout.default and storage_key(args[0]) in self.keys:
            for tensor in out:
                self._note(tensor)
        elif func is aten.bmm.default and storage_key(args[0]) in self.keys:  # weights @ values
            self.outputs.append((out, self.regions.current))
        return out

    def _note(self, tensor: Tensor) -> None:
        self.matrices.append(tensor)
        self.keys.add(storage_key(tensor))


def bytes_kept_for_backward(
    forward: Callable[[], object], state: Iterable[Tensor], blocks: Sequence[nn.Module] = ()
) -> KeptBytes:
    """Bytes autograd keeps while `forward()` runs, less those of `state` (weights, buffers), by
    region: outside `blocks` or inside each call of one."""
    excluded = {storage_key(tensor) for tensor in state}
    kept: dict[int, tuple[int, int]] = {}  # storage -> (bytes, region it was first saved in)
    regions = _Regions(blocks)

    def pack(tensor: Tensor) -> Tensor:
        kept.setdefault(storage_key(tensor), (tensor.untyped_storage().nbytes(), regions.current))
        return tensor

    attention = _MathAttention(regions)
    try:
        with torch.autograd.graph.saved_tensors_hooks(pack, lambda tensor: tensor), attention:
            forward()
    finally:
        regions.close()
    excluded |= attention.keys
    for output, region in attention.outputs:
        kept.setdefault(storage_key(output), (output.untyped_storage().nbytes(), region))
    outside = attention.logsumexp_bytes.get(OUTSIDE, 0)
    inside = [attention.logsumexp_bytes.get(call, 0) for call in range(regions.calls)]
    inputs_saved_inside = 0
    for key, (size, region) in kept.items():
        if key in excluded:
            continue
        if region == OUTSIDE:
            outside += size
        elif key in regions.inputs:
            inputs_saved_inside += size  # kept anyway as the block's input when checkpointed
        else:
            inside[region] += size
    inputs = sum(size for key, size in regions.inputs.items()
                 if key not in excluded and kept.get(key, (0, None))[1] != OUTSIDE)
    return KeptBytes(outside, tuple(inside), inputs, inputs_saved_inside)
