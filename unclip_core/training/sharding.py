"""Fully sharded data parallel training: `trainer.strategy: fsdp`.

Each process keeps 1/N of the trained component's weights, gradients and optimizer state (FSDP2,
`torch.distributed.fsdp.fully_shard`, run by Lightning's ModelParallelStrategy), so a model too
large to train replicated on one GPU trains on several. The unit of sharding is a block: every
module held in an `nn.ModuleList` (the residual and attention blocks of a UNet, the layers of a
transformer) is gathered whole just before it runs and freed after, and the component itself
owns what is left (embeddings, heads). A process then holds whole weights for one block at a time.

The component the pipeline holds is never sharded itself: a twin of it is, for the fit, and the
pipeline's component gets the gathered full weights back at the end. So the export, the next
stage and `Pipeline.from_pretrained` see an ordinary module, and checkpoints hold full state
dicts (one file, as with every other strategy).
"""

from __future__ import annotations

import copy
from functools import partial

import torch
from lightning.pytorch.strategies import ModelParallelStrategy
from torch import nn
from torch.distributed.fsdp import MixedPrecisionPolicy, fully_shard, register_fsdp_forward_method
from torch.distributed.tensor import DTensor, distribute_tensor
from torch.utils.checkpoint import checkpoint

# Containers have no forward of their own: sharding one would leave its weights never gathered.
CONTAINERS = (nn.ModuleList, nn.ModuleDict)


class ShardedDataParallel(ModelParallelStrategy):
    """FSDP over every process (no tensor parallelism), checkpoints as full state dicts."""

    def __init__(self, **kwargs) -> None:
        super().__init__(tensor_parallel_size=1, save_distributed_checkpoint=False, **kwargs)

    def setup_environment(self) -> None:
        # Every process is one data-parallel replica ('auto' would mean one per node).
        self._data_parallel_size = self.num_nodes * self.num_processes
        super().setup_environment()


def blocks(module: nn.Module) -> list[nn.Module]:
    """The units of sharding: modules with weights held in an nn.ModuleList or ModuleDict, at any
    depth, outermost first."""
    return [
        item for parent in module.modules() if isinstance(parent, CONTAINERS)
        for item in parent.children() if not isinstance(item, CONTAINERS) and any(True for _ in item.parameters())
    ]


def cannot_shard(component: nn.Module) -> str | None:
    """Why FSDP cannot shard `component` (a scalar parameter, e.g. CLIP's logit scale), or None."""
    scalar = next((name for name, parameter in component.named_parameters() if parameter.dim() == 0), None)
    return None if scalar is None else f"its parameter {scalar} is a scalar, which FSDP cannot shard"


def shard(component: nn.Module, strategy: ShardedDataParallel, methods: tuple[str, ...], bf16: bool) -> nn.Module:
    """A sharded twin of `component`, block by block. `methods` are those of the component that
    the stage calls instead of forward (e.g. `loss`): each gathers the component's own weights."""
    twin = copy.deepcopy(component)
    mesh = strategy.device_mesh["data_parallel"]
    # bf16 weights for the computation, float32 for the gradients' reduction and the optimizer.
    policy = MixedPrecisionPolicy(param_dtype=torch.bfloat16, reduce_dtype=torch.float32) if bf16 else MixedPrecisionPolicy()
    for block in reversed(blocks(twin)):  # innermost first: each owns only what no inner block does
        fully_shard(block, mesh=mesh, mp_policy=policy)
    fully_shard(twin, mesh=mesh, mp_policy=policy)
    for method in methods:
        register_fsdp_forward_method(twin, method)
    # The pipeline's copy waits for the trained weights without holding any: its parameters move
    # to the meta device (its buffers stay, as some are not in the state dict).
    for module in component.modules():
        for name, parameter in list(module.named_parameters(recurse=False)):
            setattr(module, name, nn.Parameter(parameter.detach().to("meta"), requires_grad=parameter.requires_grad))
    return twin


@torch.no_grad()
def gather_into(twin: nn.Module, component: nn.Module) -> None:
    """Give `component` (the pipeline's, emptied by `shard`) the twin's full weights. Every
    process takes part and every process ends with them, as the next stage reads them."""
    state = {name: full(value).detach().cpu() for name, value in twin.state_dict().items()}
    component.load_state_dict(state, assign=True)


def full(value: torch.Tensor) -> torch.Tensor:
    """The whole tensor, gathered from every process when it is a shard (collective)."""
    return value.full_tensor() if isinstance(value, DTensor) else value


def shard_like(value: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """`value`, a whole tensor, cut as `like` is (this process's shard when `like` is one)."""
    if isinstance(like, DTensor):
        return distribute_tensor(value.to(like.device), like.device_mesh, like.placements)
    return value.to(like.device)


def checkpoint_blocks(component: nn.Module) -> None:
    """Keep only each block's inputs for the backward pass and run the block again there:
    activation memory falls to the blocks' inputs plus one block's insides, for one more
    forward pass of each block."""
    for block in blocks(component):
        block.forward = partial(checkpoint, block.forward, use_reentrant=False)
