"""The Pipeline's editing methods: each builds a registered editing operation by name and applies it.

    pipe.vary("cat.png", n=4, eta=0.8, seed=0)
    pipe.interpolate("a.png", "b.png", frames=8)
    pipe.text_diff("cat.png", source="a cat", target="a dog", steps=5)
    pipe.inpaint("photo.png", "mask.png", "a red ball")     # mask: white = regenerate
    pipe.outpaint("photo.png", "a wide landscape", pad=16)

Keyword options go to the operation's `Config` or its `Inputs`, whichever declares them.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Union

import torch
from PIL.Image import Image
from pydantic import ValidationError

from .errors import ConfigError, InputError
from .graph import validate_model

ImageSource = Union[Image, str, Path]


class EditingMethods:
    """Mixed into Pipeline; every method returns a list of PIL images."""

    def edit(self, operation: str, **options: Any) -> list[Image]:
        """Run the editing operation registered as `operation` with the given options."""
        from .plugins import get_registry

        cls = get_registry().get("editing", operation)
        config_keys, input_keys = set(cls.Config.model_fields), set(cls.Inputs.model_fields)
        unknown = sorted(set(options) - config_keys - input_keys)
        if unknown:
            raise ConfigError(
                f"editing operation '{operation}' has no option {', '.join(map(repr, unknown))}; "
                f"it takes: {', '.join(sorted(config_keys | input_keys))}"
            )
        config = validate_model(cls.Config, {k: v for k, v in options.items() if k in config_keys}, operation)
        try:
            inputs = cls.Inputs.model_validate({k: v for k, v in options.items() if k in input_keys})
        except ValidationError as exc:
            error = exc.errors()[0]
            where = ".".join(str(part) for part in error["loc"]) or "inputs"
            raise InputError(f"{operation}: {where}: {error['msg']}") from None
        with torch.no_grad():
            return cls(config).apply(self, inputs)

    def vary(self, image: ImageSource, n: int = 4, **options: Any) -> list[Image]:
        """n variations of an image (options: eta, keep_latent, prompt, guidance_scale, seed)."""
        return self.edit("variations", image=image, n=n, **options)

    def interpolate(
        self, a: ImageSource | None = None, b: ImageSource | None = None, *, frames: int = 8,
        prompts: Sequence[str] | None = None, **options: Any,
    ) -> list[Image]:
        """Frames from image a to image b, or between two `prompts` (options: latent, eta, seed)."""
        images = None if a is None and b is None else (a, b)
        return self.edit("interpolation", images=images, prompts=prompts, frames=frames, **options)

    def text_diff(self, image: ImageSource, source: str, target: str, steps: int = 5, **options: Any) -> list[Image]:
        """Frames moving an image from caption `source` toward `target` (options: max_theta, seed)."""
        return self.edit("text_diff", image=image, source=source, target=target, steps=steps, **options)

    def inpaint(self, image: ImageSource, mask: ImageSource, prompt: str | None = None, **options: Any) -> list[Image]:
        """Regenerate the mask's white region (options: n, resample, jump, guidance_scale, seed)."""
        return self.edit("inpaint", image=image, mask=mask, prompt=prompt, **options)

    def outpaint(self, image: ImageSource, prompt: str | None = None, *, pad: int | None = None, **options: Any) -> list[Image]:
        """Extend the canvas by `pad` pixels (or pad_left/right/top/bottom) and fill it."""
        return self.edit("outpaint", image=image, prompt=prompt, pad=pad, **options)
