"""The memory one training step needs on each GPU, from a stage's measured costs.

Model state, as this framework trains (Lightning, AdamW, an EMA callback): every weight as
stored (float32; bf16-mixed keeps float32 weights and casts inside autocast), and for each
trainable weight its gradient, AdamW's two moments and, when the stage keeps an EMA, the
average. Under FSDP (full sharding) each GPU holds 1/devices of all of it; under DDP each holds
all of it. Activations are per GPU either way: each GPU runs its own part of the batch.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Literal

from .measure import StageCost

Strategy = Literal["ddp", "fsdp"]
ADAMW_MOMENTS = 2  # exp_avg and exp_avg_sq, each the size of the weights


@dataclass(frozen=True)
class GpuMemory:
    weights: int
    gradients: int
    optimizer: int
    ema: int
    activations: int

    @property
    def model_state(self) -> int:
        return self.weights + self.gradients + self.optimizer + self.ema

    @property
    def total(self) -> int:
        return self.model_state + self.activations

    def to_dict(self) -> dict[str, int]:
        return {**asdict(self), "model_state": self.model_state, "total": self.total}


def memory_per_gpu(cost: StageCost, *, strategy: Strategy, devices: int, ema: bool) -> GpuMemory:
    shards = devices if strategy == "fsdp" else 1

    def share(size: int) -> int:
        return math.ceil(size / shards)

    return GpuMemory(
        weights=share(cost.state_bytes),
        gradients=share(cost.trainable_bytes),
        optimizer=share(ADAMW_MOMENTS * cost.trainable_bytes),
        ema=share(cost.averaged_bytes) if ema else 0,
        activations=cost.activation_bytes,
    )
