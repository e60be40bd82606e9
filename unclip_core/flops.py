"""FLOPs of one training step: its forward and its backward, counted by torch.utils.flop_counter.

The counter reads shapes only, never values, so the same count works on a real device and on
tensors that hold no data (PyTorch's meta device), where a model of billions of parameters costs
no memory. `benchmarks/train_throughput.py` and `unclip summary` both count with it.

`StepFlopsFromForward` gives the same count from the forward pass alone, for devices where a
backward pass cannot run (the pretend GPU of `unclip summary`). The operations the counter
counts (matrix products and convolutions) have gradients that are themselves products and
convolutions of the same sizes, one per input that requires a gradient; the backward's FLOPs
follow from the forward's operations and which of their inputs autograd will differentiate.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils.flop_counter import FlopCounterMode, flop_registry, sdpa_backward_flop_count, sdpa_flop_count

aten = torch.ops.aten
# Products whose two factors sit at these argument positions; each factor's gradient is a
# product of the same size (grad @ b^T, a^T @ grad).
_PRODUCT_FACTORS = {aten.mm: (0, 1), aten.bmm: (0, 1), aten.addmm: (1, 2), aten.baddbmm: (1, 2)}
_CONVOLUTIONS = (aten.convolution, aten._convolution)


def _cpu_attention(query, key, value, *args, out_shape=None, **kwargs) -> int:
    return sdpa_flop_count(query, key, value)


def _cpu_attention_backward(grad_out, query, key, value, *args, out_shape=None, **kwargs) -> int:
    return sdpa_backward_flop_count(grad_out, query, key, value)


# The counter knows the GPU's fused attention kernels but not the CPU's, which every
# scaled_dot_product_attention on the CPU runs: without these, attention would count 0 FLOPs there.
CPU_ATTENTION = {
    aten._scaled_dot_product_flash_attention_for_cpu: _cpu_attention,
    aten._scaled_dot_product_flash_attention_for_cpu_backward: _cpu_attention_backward,
}


def train_step_flops(loss: Callable[[], Tensor]) -> int:
    """FLOPs of computing `loss()` and back-propagating it (the optimizer's few are left out)."""
    counter = FlopCounterMode(display=False, custom_mapping=CPU_ATTENTION)
    with counter:
        loss().backward()
    return counter.get_total_flops()


def forward_flops(forward: Callable[[], object]) -> int:
    """FLOPs of `forward()` alone, e.g. a frozen encoder that a training step only runs forward."""
    counter = FlopCounterMode(display=False, custom_mapping=CPU_ATTENTION)
    with counter:
        forward()
    return counter.get_total_flops()


class StepFlopsFromForward(TorchDispatchMode):
    """While active over a training step's forward pass, `total` becomes what `train_step_flops`
    counts over its forward and backward on a GPU. An operation the counter counts but no rule
    here covers (a fused attention kernel, which only a real GPU runs) is refused, not guessed.

    Without data, attention runs PyTorch's math path: two products forward, four backward. A
    fused kernel's backward also computes the scores again, a fifth product the size of the
    first, which the counter counts for the GPU's kernels; it is added at each attention's
    softmax (the math path's `_safe_softmax`, which nothing else uses) from the product before it."""

    def __init__(self) -> None:
        super().__init__()
        self.total = 0
        self._last_product = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        packet = func._overloadpacket
        if packet in flop_registry:
            forward = flop_registry[packet](*args, **kwargs, out_val=out)
            self.total += forward + _gradient_flops(packet, args, out, forward)
            self._last_product = forward
        elif func is aten._safe_softmax.default:
            self.total += self._last_product  # queries @ keys, again in the backward
        return out


def _gradient_flops(packet, args, out, forward: int) -> int:
    """The FLOPs of the gradients autograd computes for an operation that took `forward`."""
    if packet in _PRODUCT_FACTORS:
        return forward * sum(_needs_grad(args[i]) for i in _PRODUCT_FACTORS[packet])
    if packet in _CONVOLUTIONS:
        image, weight, bias, stride, padding, dilation, transposed, output_padding, groups = args[:9]
        mask = [_needs_grad(image), _needs_grad(weight), _needs_grad(bias)]
        if not any(mask):
            return 0
        # Exactly the formula the counter applies to the convolution_backward autograd will run.
        return flop_registry[aten.convolution_backward](
            out, image, weight, None, stride, padding, dilation, transposed, output_padding, groups, mask,
            out_val=(image if mask[0] else None, weight if mask[1] else None, None),
        )
    raise NotImplementedError(
        f"no rule for the backward FLOPs of {packet}; count this step with train_step_flops on a device that runs its backward"
    )


def _needs_grad(value: object) -> bool:
    return isinstance(value, Tensor) and value.requires_grad
