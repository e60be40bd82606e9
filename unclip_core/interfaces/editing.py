"""An editing operation: an image manipulation through the joint CLIP space."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, ClassVar

from PIL.Image import Image
from pydantic import BaseModel, ConfigDict

from .component import Component, ComponentConfig

if TYPE_CHECKING:
    from ..pipeline import Pipeline


class EditInputs(BaseModel):
    """Base of an operation's typed inputs (images, prompts, masks)."""

    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True)


class EditingOperation(Component, ABC):
    """Runs one kind of edit on a loaded pipeline and returns the resulting images.

    `Config` holds the operation's settings (eta, number of frames, ...); `Inputs` the
    per-call data.
    """

    kind: ClassVar[str] = "editing"
    Inputs: ClassVar[type[EditInputs]] = EditInputs

    def __init__(self, config: ComponentConfig) -> None:
        self.config = config

    @abstractmethod
    def apply(self, pipeline: Pipeline, inputs: EditInputs) -> list[Image]:
        """Perform the edit."""
