"""AdamW with linear warmup: the optimizer every stage uses, scaled to the batch it trains on."""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from .config import StageConfig


def batch_scaled(stage: StageConfig, batch_size: int) -> tuple[float, int]:
    """(lr, warmup_steps) for `batch_size` images per optimizer step.

    Adam's update size barely depends on gradient noise, so a batch k times larger takes sqrt(k)
    times the learning rate (the square-root rule), and its warmup is sqrt(k) times longer so the
    learning rate climbs by the same amount per step as at the reference batch.
    """
    if stage.reference_batch_size is None:
        return stage.lr, stage.warmup_steps
    ratio = math.sqrt(batch_size / stage.reference_batch_size)
    return stage.lr * ratio, round(stage.warmup_steps * ratio)


def fused_supported(params: list[torch.Tensor]) -> bool:
    """Fused AdamW (one kernel for the whole update) runs on CUDA tensors of one device."""
    devices = {p.device for p in params}
    return len(devices) == 1 and next(iter(devices)).type == "cuda"


def adamw_with_warmup(module: nn.Module, stage: StageConfig, batch_size: int | None = None) -> dict[str, Any]:
    """Lightning's `configure_optimizers` dict. Biases, norms and 1-d params get no weight decay."""
    params = [p for p in module.parameters() if p.requires_grad]
    decay = [p for p in params if p.ndim >= 2]
    no_decay = [p for p in params if p.ndim < 2]
    lr, warmup_steps = batch_scaled(stage, batch_size) if batch_size else (stage.lr, stage.warmup_steps)
    optimizer = torch.optim.AdamW(
        [{"params": decay, "weight_decay": stage.weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
        lr=lr,
        betas=stage.betas,
        fused=fused_supported(params) or None,
    )
    warmup = max(warmup_steps, 1)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: min(1.0, (step + 1) / warmup))
    return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "step"}}
