"""A training step's FLOPs from its forward pass alone equal the counter's over forward and backward."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from unclip_core.flops import StepFlopsFromForward, train_step_flops


class Attention(nn.Module):
    """Products of two activations (bmm, baddbmm), neither of them a weight."""

    def __init__(self) -> None:
        super().__init__()
        self.qkv = nn.Linear(16, 48)

    def forward(self, x):
        q, k, v = self.qkv(x).chunk(3, dim=-1)
        scores = torch.baddbmm(torch.zeros(x.shape[0], x.shape[1], x.shape[1]), q, k.transpose(1, 2)).softmax(-1)
        return torch.bmm(scores, v)


def frozen(module: nn.Module) -> nn.Module:
    return module.requires_grad_(False)


# (model, input shape, whether the input requires a gradient): the gradients autograd computes
# differ with each (a first layer's input needs none; a frozen layer's weight needs none).
CASES = {
    "linear, input without gradient": (lambda: nn.Sequential(nn.Linear(8, 32), nn.GELU(), nn.Linear(32, 4)), (5, 8), False),
    "linear, input with gradient": (lambda: nn.Linear(8, 4), (3, 7, 8), True),
    "frozen first layer": (lambda: nn.Sequential(frozen(nn.Linear(8, 32)), nn.Linear(32, 4)), (5, 8), False),
    "frozen last layer": (lambda: nn.Sequential(nn.Linear(8, 32), frozen(nn.Linear(32, 4))), (5, 8), False),
    "strided and grouped convolutions": (
        lambda: nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.Conv2d(8, 8, 3, stride=2, groups=2), nn.Conv2d(8, 4, 1, bias=False)),
        (2, 3, 16, 16), False),
    "transposed convolution": (lambda: nn.Sequential(nn.Conv2d(3, 8, 3), nn.ConvTranspose2d(8, 4, 4, stride=2)), (2, 3, 9, 9), True),
    "frozen convolution": (lambda: nn.Sequential(frozen(nn.Conv2d(3, 8, 3)), nn.Conv2d(8, 4, 3)), (2, 3, 12, 12), False),
    "attention": (Attention, (2, 6, 16), False),
}


@pytest.mark.parametrize("case", list(CASES))
def test_forward_pass_alone_counts_what_forward_and_backward_do(case):
    build, shape, input_grad = CASES[case]
    torch.manual_seed(0)
    model = build()
    x = torch.randn(shape, requires_grad=input_grad)
    measured = train_step_flops(lambda: model(x).square().mean())
    derived = StepFlopsFromForward()
    with derived:
        model(x).square().mean()
    assert derived.total == measured > 0


def test_an_operation_without_a_backward_rule_is_refused():
    q = torch.empty(1, 2, 8, 16, device="meta", requires_grad=True)
    with pytest.raises(NotImplementedError, match="no rule for the backward FLOPs of aten._scaled_dot_product_efficient_attention"):
        with StepFlopsFromForward():
            torch.ops.aten._scaled_dot_product_efficient_attention(q, q, q, None, True)


def test_attention_is_counted_as_a_fused_kernel_runs_it_on_the_cpu_and_without_data():
    """The CPU's fused kernel, which the counter knows no formula for, is counted as the GPU's are
    (the backward computes the scores again); so is the math path run without data."""
    import torch.nn.functional as F
    from torch.nn.attention import SDPBackend, sdpa_kernel

    q, k, v = (torch.randn(2, 4, 16, 8, requires_grad=True) for _ in range(3))
    forward = 4 * 2 * 4 * 16 * 16 * 8  # two products of 2 B H L S D
    with sdpa_kernel(SDPBackend.FLASH_ATTENTION):
        assert train_step_flops(lambda: F.scaled_dot_product_attention(q, k, v).sum()) == forward * 7 // 2

    counter = StepFlopsFromForward()
    with torch.device("meta"):
        fake = [torch.empty(2, 4, 16, 8, requires_grad=True) for _ in range(3)]
    with counter:
        F.scaled_dot_product_attention(*fake)
    assert counter.total == forward * 7 // 2
