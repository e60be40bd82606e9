"""The pieces of sharded training that need no second process: the units FSDP shards, activation
checkpointing, and which components it cannot shard. (Training on 2 processes: test_distributed.py.)"""

import torch
from torch import nn

from unclip_core.graph import build, load_graph
from unclip_core.training.sharding import CONTAINERS, blocks, cannot_shard, checkpoint_blocks

from .conftest import ROOT


def tiny_upsampler() -> nn.Module:
    torch.manual_seed(0)
    return build(load_graph(ROOT / "configs" / "tiny.yaml")).upsamplers[0]


def test_blocks_are_the_modules_held_in_lists_and_never_containers():
    upsampler = tiny_upsampler()
    units = blocks(upsampler)
    assert units and not any(isinstance(unit, CONTAINERS) for unit in units)
    listed = {id(item) for parent in upsampler.modules() if isinstance(parent, CONTAINERS) for item in parent.children()}
    assert all(id(unit) in listed for unit in units)
    # Every weight not in a block stays with the component itself: nothing is left unowned.
    in_blocks = {id(p) for unit in units for p in unit.parameters()}
    assert 0 < len(in_blocks) < len(list(upsampler.parameters()))


def saved_bytes_and_grads(upsampler: nn.Module, images: torch.Tensor) -> tuple[int, dict[str, torch.Tensor]]:
    """Bytes the autograd graph keeps for backward during one loss, and the gradients it gives."""
    saved = 0

    def keep(tensor):
        nonlocal saved
        saved += tensor.numel() * tensor.element_size()
        return tensor

    upsampler.zero_grad()
    with torch.autograd.graph.saved_tensors_hooks(keep, lambda tensor: tensor):
        loss = upsampler.loss(images, generator=torch.Generator().manual_seed(0))
    loss.backward()
    return saved, {name: p.grad.clone() for name, p in upsampler.named_parameters() if p.grad is not None}


def test_activation_checkpointing_keeps_less_for_backward_and_gives_the_same_gradients():
    images = torch.rand(4, 3, 64, 64, generator=torch.Generator().manual_seed(1)) * 2 - 1
    upsampler = tiny_upsampler()
    plain_saved, plain_grads = saved_bytes_and_grads(upsampler, images)
    checkpoint_blocks(upsampler)
    saved, grads = saved_bytes_and_grads(upsampler, images)
    assert saved < 0.3 * plain_saved  # measured: 14%, (saved, plain_saved)
    assert grads.keys() == plain_grads.keys()
    for name, grad in grads.items():
        assert torch.allclose(grad, plain_grads[name], atol=1e-6), name
    assert upsampler.state_dict().keys() == tiny_upsampler().state_dict().keys()  # exports as before


def test_a_scalar_parameter_is_named_as_what_fsdp_cannot_shard():
    assert cannot_shard(tiny_upsampler()) is None
    module = nn.Module()
    module.logit_scale = nn.Parameter(torch.tensor(2.0))
    assert "logit_scale" in cannot_shard(module)
