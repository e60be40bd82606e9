"""AdamW with linear warmup: the optimizer every stage uses."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from .config import StageConfig


def adamw_with_warmup(module: nn.Module, stage: StageConfig) -> dict[str, Any]:
    """Lightning's `configure_optimizers` dict. Biases, norms and 1-d params get no weight decay."""
    params = [p for p in module.parameters() if p.requires_grad]
    decay = [p for p in params if p.ndim >= 2]
    no_decay = [p for p in params if p.ndim < 2]
    optimizer = torch.optim.AdamW(
        [{"params": decay, "weight_decay": stage.weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
        lr=stage.lr,
        betas=stage.betas,
    )
    warmup = max(stage.warmup_steps, 1)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: min(1.0, (step + 1) / warmup))
    return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "step"}}
