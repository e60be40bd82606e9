"""Per-stage optimization settings: the `train:` section of a graph."""

from __future__ import annotations

from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

# How a stage is fed: `device` holds the training split on the training device and draws batches
# as indices; `loader` reads it through a DataLoader; `auto` picks `device` when the source
# declares it fits in memory (and, on a GPU, when it takes under half the free memory).
Feed = Literal["auto", "device", "loader"]
# torch.compile's modes; `reduce-overhead` also replays each step as a CUDA graph on GPUs, which
# the step allows because it never reads a value back from the device.
CompileMode = Literal["default", "reduce-overhead", "max-autotune", "max-autotune-no-cudagraphs"]


class StageConfig(BaseModel):
    """How one stage (clip, prior, decoder, upsampler) is optimized."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    lr: float = Field(3e-4, gt=0)
    weight_decay: float = Field(0.01, ge=0)
    betas: tuple[float, float] = (0.9, 0.99)
    warmup_steps: int = Field(100, ge=0)
    max_steps: int | None = Field(None, ge=1, description="Overrides trainer.max_steps for this stage.")
    max_time: str | None = Field(
        None, description="Wall-clock budget for this stage, 'DD:HH:MM:SS'; overrides trainer.max_time."
    )
    batch_size: int | None = Field(None, ge=1, description="Overrides data.batch_size for this stage.")
    ema_decay: float | None = Field(0.999, gt=0, lt=1, description="EMA of weights; null turns it off.")
    checkpoint_every_n_steps: int = Field(1000, ge=1)
    checkpoint_every_minutes: float | None = Field(
        10.0, gt=0, description="Also rewrite last.ckpt when this much time has passed (checked on logging steps); null: by steps only.",
    )
    reference_batch_size: int | None = Field(
        None, ge=1,
        description="Batch size lr and warmup_steps were tuned at; other batch sizes scale both by sqrt(batch / reference). Null: used as given.",
    )
    compile: bool | CompileMode = Field(
        False, description="torch.compile the stage's loss (forward and backward): true (mode default) or a torch.compile mode.",
    )
    activation_checkpointing: bool = Field(
        False, description="Recompute each block's activations in the backward pass instead of keeping them: less memory, more compute.",
    )
    feed: Feed = Field("auto", description="auto, device (split held on the training device) or loader (DataLoader).")

    @field_validator("compile", mode="before")
    @classmethod
    def _compile_is_a_switch_or_a_mode(cls, value: Any) -> Any:
        if isinstance(value, bool) or value in get_args(CompileMode):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        raise ValueError(f"true, false or a torch.compile mode ({', '.join(get_args(CompileMode))})")


# Stage defaults that differ from StageConfig's: a CLIP trains with a higher weight decay and no EMA.
STAGE_DEFAULTS: dict[str, dict[str, Any]] = {
    "clip": {"lr": 5e-4, "weight_decay": 0.1, "ema_decay": None},
    "prior": {},
    "decoder": {},
    "upsampler": {},
}


class TrainingConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    clip: StageConfig = StageConfig(**STAGE_DEFAULTS["clip"])
    prior: StageConfig = StageConfig()
    decoder: StageConfig = StageConfig()
    upsampler: StageConfig = StageConfig()

    @model_validator(mode="before")
    @classmethod
    def _keys_fill_in_stage_defaults(cls, values: Any) -> Any:
        """`train: {clip: {lr: 1e-3}}` changes only lr: other keys keep the stage's own defaults."""
        if not isinstance(values, dict):
            return values
        return {
            stage: {**STAGE_DEFAULTS.get(stage, {}), **given} if isinstance(given, dict) else given
            for stage, given in values.items()
        }
