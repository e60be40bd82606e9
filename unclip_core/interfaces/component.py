"""What every pluggable component has: a registry name, a typed config, and a kind."""

from __future__ import annotations

from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field


class ComponentConfig(BaseModel):
    """Base of every component's nested `Config`: unknown keys are errors, not silently ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class EncoderDimensions(ComponentConfig):
    """Dimensions a component may state; the graph checks each one set against the encoder."""

    embed_dim: int | None = Field(None, description="Must match the encoder when set; null takes the encoder's.")
    text_width: int | None = Field(None, description="Must match the encoder when set; null takes the encoder's.")
    context_length: int | None = Field(None, description="Must match the encoder when set; null takes the encoder's.")


class Component:
    """Mixin shared by all interfaces.

    A concrete component sets `name` (its registry name, used as `type:` in YAML) and a nested
    `Config(ComponentConfig)`. The interface it subclasses sets `kind`.
    """

    kind: ClassVar[str]
    name: ClassVar[str]
    Config: ClassVar[type[ComponentConfig]] = ComponentConfig
    # Config fields that are themselves components (e.g. {"sampler": "sampler"}): the graph
    # validates and builds them, then passes the built object as a keyword argument.
    nested: ClassVar[dict[str, str]] = {}
    # Config fields that change only how a trained component samples (guidance, draws per
    # prompt, ...), never its weights: experiments vary them without training again, and
    # `Pipeline.generate(*_options=)` sets them for one call on a copy with another config, so
    # read them from `self.config` when sampling, never into attributes at construction.
    sampling_fields: ClassVar[frozenset[str]] = frozenset()

    @classmethod
    def summary(cls) -> str:
        """The first line of the class docstring, shown by `unclip plugins`."""
        doc = (cls.__doc__ or "").strip()
        return doc.splitlines()[0] if doc else ""
