"""What one stage's training step costs, measured without allocating the model: parameters,
FLOPs per item, and the bytes autograd keeps for the backward pass.

The stage is built on the meta device and moved to the pretend GPU, where one forward pass
under the run's CUDA autocast shows what a GPU step would keep for its backward, with activation
checkpointing and without (saved_tensors.py), and what the step's forward and backward cost in
FLOPs (flops.py: the backward's follow from the forward's operations).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from ..flops import StepFlopsFromForward, forward_flops
from ..training.sharding import blocks
from .host_side import DatalessDeviceHost
from .meta_build import META
from .pretend_gpu import PRETEND_GPU, gpu_autocast, move_to_pretend_gpu, on_pretend_gpu
from .saved_tensors import bytes_kept_for_backward
from .stages import Stage


@dataclass(frozen=True)
class StageCost:
    trainable_params: int
    frozen_params: int
    state_bytes: int  # every parameter and buffer, as stored
    trainable_bytes: int  # trainable parameters: also the size of their gradients and of each AdamW moment
    averaged_bytes: int  # the component's floating-point state, which the EMA keeps a copy of
    flops_per_item: float  # one forward and backward
    encoder_flops_per_item: float  # the frozen encoder's forward, for a step that runs it (0: none held, or not counted)
    activation_bytes: int  # kept for the backward pass, at `batch` items, as the stage trains
    activation_checkpointing: bool  # whether the stage trains with it (train.<stage>.activation_checkpointing)
    plain_activation_bytes: int  # kept without activation checkpointing
    checkpointed_activation_bytes: int  # kept with every block checkpointed
    batch: int


def measure_stage(
    stage: Stage, batch: int, autocast_dtype: torch.dtype | None, *, count_encoder: bool = True,
    activation_checkpointing: bool = False,
) -> StageCost:
    """`stage`'s costs at `batch` items per step; `autocast_dtype` as the run's precision sets it.
    `count_encoder=False` skips counting the frozen encoder's forward (the same for every stage)."""
    module = stage.build()
    module.to(META).train()  # already there: this makes Lightning's `module.device` say so
    params = list(module.parameters())
    trainable = [p for p in params if p.requires_grad]
    encoder_flops = 0
    if stage.encoder_batch is not None and count_encoder:
        with DatalessDeviceHost():
            encoder_flops = forward_flops(lambda: module.encoder_features(stage.encoder_batch(batch, META)))
    state_bytes = _bytes(_state(module))
    averaged_bytes = _bytes([t for t in _state(module.component) if t.is_floating_point()])
    if stage.step_skips_frozen_encoder:
        # Its outputs are in the batch and the step never calls it; moving a billion fake
        # parameters onto the pretend GPU would cost seconds for nothing.
        module.encoder = None
    move_to_pretend_gpu(module)
    flops = StepFlopsFromForward()
    with on_pretend_gpu(), gpu_autocast(autocast_dtype), flops:
        kept = bytes_kept_for_backward(
            lambda: module.step_loss(stage.batch(module, batch, PRETEND_GPU)), _state(module), blocks(module.component)
        )
    return StageCost(
        trainable_params=sum(p.numel() for p in trainable),
        frozen_params=sum(p.numel() for p in params if not p.requires_grad),
        state_bytes=state_bytes,
        trainable_bytes=_bytes(trainable),
        averaged_bytes=averaged_bytes,
        flops_per_item=flops.total / batch,
        encoder_flops_per_item=encoder_flops / batch,
        activation_bytes=kept.checkpointed if activation_checkpointing else kept.plain,
        activation_checkpointing=activation_checkpointing,
        plain_activation_bytes=kept.plain,
        checkpointed_activation_bytes=kept.checkpointed,
        batch=batch,
    )


def _state(module: nn.Module) -> list[Tensor]:
    return [*module.parameters(), *module.buffers()]


def _bytes(tensors: list[Tensor]) -> int:
    return sum(t.numel() * t.element_size() for t in tensors)
