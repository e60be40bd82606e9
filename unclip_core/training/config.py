"""Per-stage optimization settings: the `train:` section of a graph."""

from __future__ import annotations

import re
from typing import Any, ClassVar, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_core import InitErrorDetails

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
    channels_last: bool = Field(
        True, description="UNet stages on a GPU: weights and images in channels_last (NHWC), the layout tensor-core convolutions read; false keeps NCHW. Stages without convolutions ignore it.",
    )

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


# `train.upsampler_<i>`: settings of one upsampler stage, over the shared `train.upsampler`.
ONE_UPSAMPLER = re.compile(r"upsampler_(\d+)")


class TrainingConfig(BaseModel):
    """One section per stage. Every upsampler trains with `upsampler`; a graph whose upsamplers
    need different settings (the paper's 256->1024 stage has its own batch and learning rate)
    adds `upsampler_<i>` sections, each holding only the keys that differ for stage i."""

    # The extra keys allowed are the `upsampler_<i>` sections, each a whole StageConfig.
    model_config = ConfigDict(extra="allow", frozen=True)
    __pydantic_extra__: dict[str, StageConfig]
    extra_sections: ClassVar[type[BaseModel]] = StageConfig  # for key suggestions in error messages

    clip: StageConfig = StageConfig(**STAGE_DEFAULTS["clip"])
    prior: StageConfig = StageConfig()
    decoder: StageConfig = StageConfig()
    upsampler: StageConfig = StageConfig()

    @model_validator(mode="before")
    @classmethod
    def _keys_fill_in_stage_defaults(cls, values: Any) -> Any:
        """`train: {clip: {lr: 1e-3}}` changes only lr: other keys keep the stage's own defaults,
        and an `upsampler_<i>` section's other keys are the shared `upsampler` section's."""
        if not isinstance(values, dict):
            return values
        for key, given in values.items():
            if key not in cls.model_fields and not ONE_UPSAMPLER.fullmatch(str(key)):
                # Reported as pydantic reports unknown keys, so the message names the key path.
                raise ValidationError.from_exception_data(
                    cls.__name__, [InitErrorDetails(type="extra_forbidden", loc=(key,), input=given)]
                )
        shared = values.get("upsampler") if isinstance(values.get("upsampler"), dict) else {}
        return {
            stage: {**STAGE_DEFAULTS.get(stage, {}), **(shared if ONE_UPSAMPLER.fullmatch(stage) else {}), **given}
            if isinstance(given, dict) else given
            for stage, given in values.items()
        }

    def section_of(self, stage: str) -> str:
        """The `train:` key that stage `stage` (encoder or clip, prior, decoder, upsampler_<i>) trains with."""
        if stage == "encoder":
            return "clip"
        if ONE_UPSAMPLER.fullmatch(stage):
            return stage if stage in (self.model_extra or {}) else "upsampler"
        return stage

    def for_stage(self, stage: str) -> StageConfig:
        """The settings stage `stage` trains with (see `section_of`)."""
        section = self.section_of(stage)
        return (self.model_extra or {}).get(section) or getattr(self, section)
