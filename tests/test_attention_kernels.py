"""Every stage's training step runs attention on a fused kernel: with the math path forbidden, a
call whose inputs a fused kernel refuses raises instead of quietly writing out its score matrix."""

from __future__ import annotations

import pytest
import torch
from torch.nn.attention import SDPBackend, sdpa_kernel

from unclip_core.graph import build, load_graph
from unclip_core.plugins import get_registry
from unclip_core.summary import graph_stages
from unclip_plugins.unet.blocks import AttentionBlock

GRAPH = "configs/tiny.yaml"


def stage_module(name: str):
    graph = load_graph(GRAPH)
    torch.manual_seed(0)
    components = build(graph)
    [stage] = [s for s in graph_stages(graph, get_registry()) if s.name == name]
    return stage, stage.module(components).train()


@pytest.mark.parametrize("name", ["clip", "prior", "decoder", "upsampler_0"])
def test_a_training_step_needs_no_math_path_attention(name):
    stage, module = stage_module(name)
    if stage.step_skips_frozen_encoder:
        module.encoder = None  # its outputs come in the batch, as on the device-held path
    batch = stage.batch(module, 4, torch.device("cpu"))
    with sdpa_kernel(SDPBackend.FLASH_ATTENTION):  # the CPU's fused kernel, and nothing else
        loss = module.step_loss(batch)
        loss.backward()
    assert torch.isfinite(loss)
    assert all(torch.isfinite(p.grad).all() for p in module.parameters() if p.grad is not None)


@pytest.mark.parametrize("with_context", [False, True])
def test_unet_attention_runs_on_a_fused_kernel_forward_and_backward(with_context):
    """The block on the fused kernel alone gives the math path's values, context and its mask included."""
    torch.manual_seed(0)
    block = AttentionBlock(32, 8, context_dim=12 if with_context else None)
    torch.nn.init.normal_(block.proj.weight, std=0.2)  # zero at init, which would hide the attention
    x = torch.randn(2, 32, 6, 6, requires_grad=True)
    context = torch.randn(2, 4, 12) if with_context else None
    mask = torch.tensor([[1, 1, 0, 1], [1, 0, 0, 0]]) if with_context else None
    with sdpa_kernel(SDPBackend.MATH):
        expected = block(x, context, mask)
    with sdpa_kernel(SDPBackend.FLASH_ATTENTION):
        out = block(x, context, mask)
        out.square().sum().backward()
    torch.testing.assert_close(out, expected)
    assert x.grad is not None and torch.isfinite(x.grad).all()
