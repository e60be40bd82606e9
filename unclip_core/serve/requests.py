"""What each operation accepts, validated the same way for the page and the HTTP API.

A request holds everything that decides its output: the same request (with its seed) gives the
same images, which is why a result's PNG carries its request (see png_settings.py). Images are
PIL images here; the HTTP API decodes uploads before building a request (uploads.py).
"""

from __future__ import annotations

import hashlib
from typing import Annotated, Any, ClassVar, Literal

from PIL import Image
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from ..errors import InputError

MAX_IMAGES = 16  # per request: bounds one request's memory and time
MAX_FRAMES = 32
STAGES = ("prior", "decoder", "upsampler")  # the stages a request sets (`<stage>_options`, `<stage>_steps`, ...)
Settings = dict[str, Any] | None  # a component's sampling_fields; checked by the pipeline at the call


class OperationRequest(BaseModel):
    """Fields shared by every operation: which model, the seed (None: the server picks one), and
    sampling settings of the model's stages (every operation samples through them)."""

    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True)
    operation: ClassVar[str]
    image_fields: ClassVar[tuple[str, ...]] = ()

    model: str | None = Field(None, description="A model the server offers; none: its first.")
    seed: int | None = Field(None, ge=0, le=2**63 - 1, description="Same seed, same images; none: random.")
    prior_options: Settings = Field(None, description="Some of the prior's sampling settings (its sampling_fields), for this request.")
    decoder_options: Settings = Field(None, description="The decoder's; an unknown one is refused with the list of them.")
    upsampler_options: Settings = Field(None, description="Every upsampler's.")

    def stage_options(self) -> dict[str, Settings]:
        """The stages' sampling settings this request asks for, as the pipeline's keywords."""
        return {f"{stage}_options": getattr(self, f"{stage}_options") for stage in STAGES}

    def settings(self) -> dict[str, Any]:
        """The request as JSON-ready settings: images are named by size and sha256, not embedded."""
        settings = {"operation": self.operation, **self.model_dump(exclude=set(self.image_fields))}
        for name in self.image_fields:
            settings[name] = describe_image(getattr(self, name))
        return settings


def describe_image(image: Image.Image | tuple | None) -> Any:
    if image is None:
        return None
    if isinstance(image, tuple):
        return [describe_image(item) for item in image]
    digest = hashlib.sha256(image.tobytes()).hexdigest()
    return {"width": image.width, "height": image.height, "mode": image.mode, "sha256": digest}


def _prompt(value: str, field: str) -> str:
    if not value.strip():
        raise ValueError(f"{field} is empty; type what the image should show")
    return value.strip()


Steps = int | None
Guidance = float | None
# The DDIM steps an edit that inverts its image walks both ways; none: the operation's default.
DDIMSteps = Annotated[int | None, Field(ge=2, le=1000, description="DDIM steps to invert and decode with; none: the operation's default.")]


class GenerateRequest(OperationRequest):
    operation: ClassVar[str] = "generate"

    prompts: list[str] = Field(min_length=1, max_length=MAX_IMAGES, description="What to draw, one image set each.")
    num_images: int = Field(1, ge=1, le=MAX_IMAGES, description="Images per prompt.")
    prior_steps: Steps = Field(None, ge=1, description="Sampler steps of the prior; none: the model's.")
    decoder_steps: Steps = Field(None, ge=1)
    upsampler_steps: Steps = Field(None, ge=1)
    prior_guidance: Guidance = Field(None, ge=0.0, description="Classifier-free guidance; none: the model's.")
    decoder_guidance: Guidance = Field(None, ge=0.0)
    prior_sampler: str | None = Field(None, description="A registered sampler type; none: the model's.")
    decoder_sampler: str | None = None
    upsampler_sampler: str | None = None

    @field_validator("prompts")
    @classmethod
    def _prompts_given(cls, prompts: list[str]) -> list[str]:
        return [_prompt(p, "a prompt") for p in prompts]


class VaryRequest(OperationRequest):
    operation: ClassVar[str] = "vary"
    image_fields: ClassVar[tuple[str, ...]] = ("image",)

    image: Image.Image
    n: int = Field(4, ge=1, le=MAX_IMAGES, description="How many variations.")
    eta: float = Field(0.8, ge=0.0, description="0 reconstructs the image; larger varies more.")
    ddim_steps: DDIMSteps = None


class InterpolateRequest(OperationRequest):
    operation: ClassVar[str] = "interpolate"
    image_fields: ClassVar[tuple[str, ...]] = ("images",)

    images: tuple[Image.Image, Image.Image] | None = Field(None, description="The two end images.")
    prompts: tuple[str, str] | None = Field(None, description="Or two prompts.")
    frames: int = Field(8, ge=2, le=MAX_FRAMES, description="Frames, both ends included.")
    latent: Literal["inverted", "fixed"] = "inverted"
    ddim_steps: DDIMSteps = None

    @field_validator("prompts")
    @classmethod
    def _prompts_given(cls, prompts: tuple[str, str] | None) -> tuple[str, str] | None:
        return None if prompts is None else (_prompt(prompts[0], "prompt A"), _prompt(prompts[1], "prompt B"))

    @model_validator(mode="after")
    def _one_pair(self) -> InterpolateRequest:
        if (self.images is None) == (self.prompts is None):
            raise ValueError("give either two images or two prompts to interpolate between")
        return self


class TextDiffRequest(OperationRequest):
    operation: ClassVar[str] = "text-diff"
    image_fields: ClassVar[tuple[str, ...]] = ("image",)

    image: Image.Image
    source: str = Field(description="Caption of what the image shows now.")
    target: str = Field(description="Caption of what it should show.")
    steps: int = Field(5, ge=2, le=MAX_FRAMES, description="Frames from the image toward the target.")
    max_theta: float = Field(0.5, gt=0.0, le=1.0, description="Strength of the last frame's edit.")
    ddim_steps: DDIMSteps = None

    @field_validator("source", "target")
    @classmethod
    def _caption_given(cls, value: str, info) -> str:
        return _prompt(value, f"the {info.field_name} caption")


class InpaintRequest(OperationRequest):
    operation: ClassVar[str] = "inpainting"
    image_fields: ClassVar[tuple[str, ...]] = ("image", "mask")

    image: Image.Image
    mask: Image.Image = Field(description="White where the image is regenerated, black where it is kept.")
    prompt: str = Field("", description="What to put there; empty: the image's own embedding.")
    n: int = Field(1, ge=1, le=MAX_IMAGES)


class OutpaintRequest(OperationRequest):
    operation: ClassVar[str] = "outpainting"
    image_fields: ClassVar[tuple[str, ...]] = ("image",)

    image: Image.Image
    prompt: str = Field("", description="What the new border shows; empty: the image's own embedding.")
    pad_left: int = Field(0, ge=0, le=256)
    pad_right: int = Field(0, ge=0, le=256)
    pad_top: int = Field(0, ge=0, le=256)
    pad_bottom: int = Field(0, ge=0, le=256)
    n: int = Field(1, ge=1, le=MAX_IMAGES)

    @model_validator(mode="after")
    def _something_to_extend(self) -> OutpaintRequest:
        if not any((self.pad_left, self.pad_right, self.pad_top, self.pad_bottom)):
            raise ValueError("every pad is 0, so there is nothing to extend; give at least one side a pad")
        return self


REQUESTS: dict[str, type[OperationRequest]] = {
    cls.operation: cls
    for cls in (GenerateRequest, VaryRequest, InterpolateRequest, TextDiffRequest, InpaintRequest, OutpaintRequest)
}


def parse_request(cls: type[OperationRequest], values: dict[str, Any]) -> OperationRequest:
    """A validated request, or an InputError naming the first bad field and what it needs."""
    try:
        return cls.model_validate(values)
    except ValidationError as exc:
        # An unknown field first: it is often a misspelling of the field another error asks for.
        error = min(exc.errors(), key=lambda e: e["type"] != "extra_forbidden")
        where = "".join(f"{part}: " for part in error["loc"])
        message = error["msg"].removeprefix("Value error, ")
        if isinstance(error.get("input"), (int, float, str)) and error["type"] != "value_error":
            message += f", got {error['input']!r}"
        if error["type"] == "extra_forbidden":
            known = ", ".join(f for f in cls.model_fields)
            message = f"unknown field; {cls.operation} takes: {known}"
        raise InputError(f"{cls.operation}: {where}{message}") from None
