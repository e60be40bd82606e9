"""What the four stages' LightningModules share: the step skeleton, logging, optimizer, speed-ups.

A stage says only how a batch becomes a loss (`step_loss`). The base makes the step cheap:
the loss may be compiled (`train.<stage>.compile`), UNet stages run channels_last on GPUs,
the optimizer is fused AdamW where the device has it, and the loss is logged only on the steps
Lightning writes (`trainer.log_every_n_steps`), so a step never waits for the device.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import lightning as L
import torch
from torch import Tensor, nn

from ..errors import NumericalError
from ..interfaces import Encoder, TextEncoding
from .columns import to_float_images
from .config import StageConfig
from .optim import adamw_with_warmup
from .sharding import ShardedDataParallel, checkpoint_blocks, gather_into, shard


class StageModule(L.LightningModule):
    """Trains `component`; `encoder`, when given, is frozen (no gradients, always in eval mode)."""

    # UNet stages set this: 4-d activations in channels_last run faster convolutions on GPUs
    # (unless the stage's `train.<stage>.channels_last` turns it off).
    channels_last: bool = False
    # The stage's key under the graph's `train:` section, for messages that name a setting.
    stage: str = "stage"
    # What the stage calls on its component besides forward: under FSDP each such call gathers
    # the component's own (not per-block) weights first.
    component_methods: tuple[str, ...] = ("loss",)

    def __init__(self, component: nn.Module, settings: StageConfig, encoder: Encoder | None = None) -> None:
        super().__init__()
        self.component = component
        self.settings = settings
        self.encoder = encoder
        if encoder is not None:
            encoder.requires_grad_(False).eval()
        self.batch_size: int | None = None  # images per step on one device; set by fit_stage
        mode = "default" if settings.compile is True else settings.compile
        self._loss = torch.compile(self.step_loss, mode=mode) if mode else self.step_loss
        self._diverged: Tensor | None = None  # on the device: was any loss so far NaN or infinite?
        self._unsharded: tuple[nn.Module] | None = None  # the pipeline's component, while a sharded twin trains
        self._configured = False  # configure_model has run

    def step_loss(self, batch: dict[str, Any]) -> Tensor:
        """The training loss of one batch (compiled when the stage asks for it)."""
        raise NotImplementedError

    def train(self, mode: bool = True) -> StageModule:
        super().train(mode)
        if self.encoder is not None:  # frozen: no dropout, whatever mode Lightning sets
            self.encoder.eval()
        return self

    # ---- the step -----------------------------------------------------------------------
    def training_step(self, batch: dict[str, Any], batch_idx: int) -> Tensor:
        loss = self._loss(batch)
        self.stop_if_diverged(loss)
        self.log_on_logging_steps("train/loss", loss, batch)
        return loss

    def is_logging_step(self) -> bool:
        trainer = self._trainer
        every = trainer.log_every_n_steps if trainer is not None else 1
        return (self.global_step + 1) % max(every, 1) == 0

    def log_on_logging_steps(self, name: str, value: Tensor, batch: dict[str, Any]) -> None:
        """Log a step value only on steps the logger writes: other steps hand Lightning nothing."""
        if self.is_logging_step():
            self.log(name, value.detach(), batch_size=batch_size_of(batch), sync_dist=True)  # the mean over processes

    def stop_if_diverged(self, loss: Tensor) -> None:
        """A NumericalError once any loss so far was NaN or infinite, looked at on logging steps
        only (the logger reads the loss there anyway): a look every step would wait for the GPU."""
        bad = ~torch.isfinite(loss.detach())
        self._diverged = bad if self._diverged is None else self._diverged | bad
        if not self.is_logging_step():
            return
        diverged = bool(self._diverged)
        if self._trainer is not None:  # with several processes, all stop when any one diverged
            diverged = self._trainer.strategy.reduce_boolean_decision(diverged, all=False)
        if diverged:
            raise NumericalError(
                f"the {self.stage} loss became NaN or infinite by step {self.global_step + 1}; training stopped "
                f"and nothing was exported (the last checkpoint is from before). Lower train.{self.stage}.lr "
                f"(now {self.settings.lr:g}), or train in float32 (trainer.precision=32-true)"
            )

    # ---- batches, in either feed's format -----------------------------------------------
    def images(self, batch: dict[str, Any]) -> Tensor:
        """The batch's images as float32 in [-1, 1], on this module's device."""
        images = to_float_images(batch["image"].to(self.device, non_blocking=True))
        return images.contiguous(memory_format=torch.channels_last) if self.uses_channels_last() else images

    def tokens(self, batch: dict[str, Any]) -> Tensor:
        """Caption tokens: gathered on the device already, or tokenized here from the strings."""
        if "tokens" in batch:
            return batch["tokens"]
        return self.encoder_for_tokens().tokenize(list(batch["caption"])).to(self.device, non_blocking=True)

    def encoder_for_tokens(self) -> Encoder:
        return self.encoder

    def frozen_features(self, batch: dict[str, Any]) -> dict[str, Tensor] | None:
        """Per-item outputs of the frozen encoder, computed once for a split held on the device
        instead of every step (None: this stage has none). Stages that embed with a frozen
        encoder and do not augment its inputs return `encoder_features(...)`."""
        return None

    @torch.no_grad()
    def encoder_features(self, batch: dict[str, Any]) -> dict[str, Tensor]:
        """z_i and the caption's encodings, in float32, keyed as precomputed embeddings are."""
        device = batch["image"].device
        encoder = self.encoder.to(device).eval()
        text = encoder.encode_text(batch["tokens"])
        return {
            "image_embedding": encoder.encode_image(to_float_images(batch["image"])).float(),
            "text_embedding": text.embedding.float(), "text_tokens": text.tokens.float(), "text_mask": text.mask.bool(),
        }

    # ---- setup --------------------------------------------------------------------------
    def uses_channels_last(self) -> bool:
        return self.channels_last and self.settings.channels_last and self.device.type == "cuda"

    def configure_model(self) -> None:
        """Activation checkpointing (`train.<stage>.activation_checkpointing`), and under
        `trainer.strategy: fsdp` a sharded twin of the component to train (sharding.py)."""
        if self._configured:
            return  # called again (a second fit, or validate): the first call did the work
        self._configured = True
        strategy = self._trainer.strategy if self._trainer is not None else None
        if isinstance(strategy, ShardedDataParallel):
            self._unsharded = (self.component,)
            self.component = shard(self.component, strategy, self.component_methods, bf16="bf16" in str(self._trainer.precision))
        if self.settings.activation_checkpointing:
            checkpoint_blocks(self.component)

    def unshard(self) -> None:
        """After a sharded fit: the pipeline's component, with the trained weights, back in place
        (every process takes part). Nothing to do otherwise."""
        if self._unsharded is None:
            return
        (component,) = self._unsharded
        gather_into(self.component, component)
        self.component, self._unsharded = component, None

    def on_fit_start(self) -> None:
        trainer = self._trainer
        if trainer is not None and trainer.world_size > 1:
            # Every process was seeded alike, so that they build the same weights; from here on
            # each draws its own noise and timesteps, or the processes would noise their halves
            # of the global batch identically. (After DDP's broadcast of rank 0's weights.)
            torch.manual_seed(torch.initial_seed() + trainer.global_rank)
        if self.uses_channels_last() and self._unsharded is None:  # FSDP keeps its shards as it made them
            self.component.to(memory_format=torch.channels_last)

    def configure_optimizers(self):
        trainer = self._trainer
        scale = (trainer.world_size * trainer.accumulate_grad_batches) if trainer is not None else 1
        return adamw_with_warmup(self.component, self.settings, self.batch_size and self.batch_size * scale)


def precomputed_text(batch: dict[str, Any]) -> TextEncoding:
    """The caption encodings of a batch that carries them (precomputed or frozen features)."""
    return TextEncoding(batch["text_embedding"].float(), batch["text_tokens"].float(), batch["text_mask"].bool())


def batch_size_of(batch: dict[str, Any]) -> int:
    """Items in a batch of either format, read from a shape (never from the device)."""
    for key in ("image", "image_embedding", "caption_id", "tokens"):
        value = batch.get(key)
        if isinstance(value, Tensor):
            return value.shape[0]
    captions: Sequence[str] = batch["caption"]
    return len(captions)
