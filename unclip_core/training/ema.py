"""Exponential moving average of a stage's weights, used for validation and for export."""

from __future__ import annotations

from typing import Any

import lightning as L
from lightning.pytorch.strategies import DDPStrategy
import torch
from torch import nn

from .sharding import full, shard_like


class EMA(L.Callback):
    """Keeps an EMA of `pl_module.component`; swaps it in for validation and `apply()`.

    The EMA is part of Lightning checkpoints, so a resumed run continues the same average.
    """

    def __init__(self, decay: float) -> None:
        self.decay = decay
        self.updates = 0
        self.shadow: dict[str, torch.Tensor] | None = None
        self._backup: dict[str, torch.Tensor] | None = None
        # Paired (average, live weight) lists, built once per fit: one _foreach_lerp_ per step (two
        # under FSDP, where sharded weights and whole buffers cannot share one call).
        self._pairs: list[tuple[list[torch.Tensor], list[torch.Tensor]]] | None = None

    def current_decay(self) -> float:
        """Warm up from 0: early on the average would otherwise be mostly the random init."""
        return min(self.decay, (1 + self.updates) / (10 + self.updates))

    @staticmethod
    def _floating_state(module: nn.Module) -> dict[str, torch.Tensor]:
        return {k: v for k, v in module.state_dict().items() if v.is_floating_point()}

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        # At train start, not fit start: the module's own on_fit_start may still replace weight
        # tensors (channels_last on GPUs), and an average paired with replaced tensors stays at init.
        current = self._floating_state(pl_module.component)
        if self.shadow is None:
            self.shadow = {k: v.detach().clone() for k, v in current.items()}
        else:  # restored from a checkpoint (whole tensors), possibly on another device or sharded
            self.shadow = {k: shard_like(v, current[k]) for k, v in self.shadow.items()}
        groups: dict[type, tuple[list[torch.Tensor], list[torch.Tensor]]] = {}
        for key, average in self.shadow.items():
            averages, weights = groups.setdefault(type(average), ([], []))
            averages.append(average)
            weights.append(current[key])
        self._pairs = list(groups.values())

    @torch.no_grad()
    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        # The decay is a host float from a host counter: the update never waits on the device.
        weight = 1 - self.current_decay()
        for averages, weights in self._pairs:
            torch._foreach_lerp_(averages, weights, weight)
        self.updates += 1

    @torch.no_grad()
    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        """Under DDP every process must end with the same average (rank 0's is exported, the
        others' go on to the next stage): one all-gather of per-tensor sums checks that."""
        if trainer.world_size == 1 or not isinstance(trainer.strategy, DDPStrategy) or not self.shadow:
            return
        sums = torch.stack([value.double().sum() for value in self.shadow.values()])
        everyone = trainer.strategy.all_gather(sums)
        if not all(torch.equal(everyone[0], other) for other in everyone[1:]):
            raise RuntimeError("the EMA weights differ between processes after training; every process must update them alike")

    def on_validation_start(self, trainer, pl_module) -> None:
        if self.shadow is not None and not trainer.sanity_checking:
            self._swap_in(pl_module.component)

    def on_validation_end(self, trainer, pl_module) -> None:
        if self._backup is not None:
            pl_module.component.load_state_dict(self._backup, strict=False)
            self._backup = None

    def apply(self, module: nn.Module) -> None:
        """Copy the EMA weights into `module` for good (at the end of training)."""
        if self.shadow is not None:
            module.load_state_dict(self.shadow, strict=False)

    def _swap_in(self, module: nn.Module) -> None:
        self._backup = {k: v.detach().clone() for k, v in self._floating_state(module).items()}
        module.load_state_dict(self.shadow, strict=False)

    def state_dict(self) -> dict[str, Any]:
        # Whole tensors, gathered under FSDP (every process saves a checkpoint's state alike).
        shadow = None if self.shadow is None else {k: full(v) for k, v in self.shadow.items()}
        return {"decay": self.decay, "updates": self.updates, "shadow": shadow}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.decay = state_dict["decay"]
        self.updates = state_dict["updates"]
        self.shadow = state_dict["shadow"]
        self._pairs = None  # rebuilt against the restored tensors at fit start
