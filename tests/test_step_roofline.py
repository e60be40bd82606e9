"""benchmarks/step_roofline.py: what each operation is charged, attention as one fused kernel,
and a whole fake step counting the FLOPs a real step counts."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from torch.nn.attention import SDPBackend, sdpa_kernel
from torch.utils.flop_counter import sdpa_backward_flop_count

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
from step_roofline import SDPA, AttentionAsFused, OperationCosts, step_costs  # noqa: E402

from unclip_core.flops import train_step_flops  # noqa: E402
from unclip_core.graph import build, load_graph  # noqa: E402
from unclip_core.plugins import get_registry  # noqa: E402
from unclip_core.summary.stages import graph_stages  # noqa: E402

PEAK, BANDWIDTH = 1e15, 4e12


def test_a_product_is_charged_its_flops_and_the_bytes_it_reads_and_writes_and_views_nothing():
    a, b = torch.randn(64, 32, dtype=torch.bfloat16), torch.randn(32, 16, dtype=torch.bfloat16)
    costs = OperationCosts(PEAK, BANDWIDTH)
    with costs:
        out = (a @ b).t()  # the transpose is a view
        out.mul_(2)  # in place: the tensor is read and written once, not twice
    assert costs.operations == 2
    assert costs.flops["products"] == 2 * 64 * 32 * 16
    assert costs.bytes["products"] == 2 * (64 * 32 + 32 * 16 + 64 * 16)
    assert costs.bytes["elementwise"] == 2 * 64 * 16  # the scalar 2 is no tensor
    assert costs.seconds["elementwise"] == pytest.approx(2 * 64 * 16 / BANDWIDTH)


def test_attention_is_one_fused_kernel_each_way_with_the_math_paths_values():
    q, k, v = (torch.randn(2, 4, 16, 8, requires_grad=True) for _ in range(3))
    mask = torch.rand(2, 1, 16, 16) > 0.2
    expected = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
    expected_grads = torch.autograd.grad(expected.square().sum(), (q, k, v))
    costs = OperationCosts(PEAK, BANDWIDTH)
    with AttentionAsFused(costs):
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
    forward_flops = 4 * 2 * 4 * 16 * 16 * 8
    assert costs.flops["attention"] == forward_flops
    assert costs.bytes["attention"] == 4 * (4 * 2 * 4 * 16 * 8) + mask.numel() + 4 * 2 * 4 * 16  # q, k, v, out, mask, logsumexp
    torch.testing.assert_close(out, expected)
    grads = torch.autograd.grad(out.square().sum(), (q, k, v))
    for grad, want in zip(grads, expected_grads):
        torch.testing.assert_close(grad, want)
    # the backward: the scores again, then four products the size of the forward's two
    assert costs.flops["attention"] == forward_flops + sdpa_backward_flop_count(q.shape, q.shape, k.shape, v.shape)
    assert costs.flops["attention"] == 3.5 * forward_flops
    assert costs.operations == 2


def test_attention_inside_torchs_multihead_module_is_charged_as_fused_too():
    attention = torch.nn.MultiheadAttention(16, 4, batch_first=True)
    x = torch.randn(2, 10, 16)
    mask = torch.triu(torch.full((10, 10), float("-inf")), 1)  # causal, as open_clip's text tower
    expected = attention(x, x, x, need_weights=False, attn_mask=mask)[0]
    costs = OperationCosts(PEAK, BANDWIDTH)
    with AttentionAsFused(costs):
        out = attention(x, x, x, need_weights=False, attn_mask=mask)[0]
    torch.testing.assert_close(out, expected)
    assert costs.flops["attention"] == 4 * 2 * 4 * 10 * 10 * 4
    assert F.scaled_dot_product_attention is SDPA  # the real function is back


def test_a_fake_step_at_any_batch_counts_the_flops_of_a_real_step():
    graph = load_graph("configs/tiny.yaml")
    [decoder] = [s for s in graph_stages(graph, get_registry()) if s.name == "decoder"]
    costs, trainable = step_costs(decoder, 512, PEAK, BANDWIDTH)

    components = build(graph)  # the same stage with real weights
    module = decoder.module(components).train()
    batch = decoder.batch(module, 4, torch.device("cpu"))
    with sdpa_kernel(SDPBackend.FLASH_ATTENTION):  # the fused kernel, as on a GPU (not the math path)
        real = train_step_flops(lambda: module.step_loss(batch))
    assert sum(costs.flops.values()) / 512 == pytest.approx(real / 4, rel=1e-6)
    assert trainable == sum(p.numel() for p in module.parameters() if p.requires_grad)
    assert costs.operations > 100 and all(costs.bytes[g] > 0 for g in ("products", "norms", "elementwise"))


def test_an_upsampler_with_the_bsr_degradation_steps_on_fake_tensors_with_its_jpeg_on_the_device():
    def upsampler_costs(degradation: str) -> OperationCosts:
        graph = load_graph("configs/tiny.yaml", [f"upsamplers.0.degradation={degradation}"])
        [stage] = [s for s in graph_stages(graph, get_registry()) if s.name.startswith("upsampler")]
        return step_costs(stage, 64, PEAK, BANDWIDTH)[0]

    blur, bsr = upsampler_costs("gaussian_blur"), upsampler_costs("bsr")
    # the degradation runs before the network, under no gradient: the network's FLOPs are the same
    # apart from the JPEG round trip's block transforms, which are charged as products
    assert bsr.operations > blur.operations + 20
    assert bsr.flops["products"] > blur.flops["products"]
