"""The models a server offers, each loaded once on first use and then shared by every request.

Sharing is safe because a pipeline call changes nothing on the pipeline (per-call options are
passed into each stage's `sample`), so concurrent requests only read the loaded weights.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

from ..catalog import load_catalog
from ..errors import InputError
from ..pipeline import Pipeline
from ..plugins import get_registry


def available_models() -> list[str]:
    """registry.yaml's default model first, then its other models, then those plugins register."""
    catalog = load_catalog()
    names = [catalog.default_model] if catalog.default_model else []
    names += [name for name in catalog.models if name not in names]
    names += [name for name in sorted(get_registry().models()) if name not in names]
    return names


class ModelPool:
    def __init__(self, names: Sequence[str] | None = None, device: str = "cpu", overrides: Sequence[str] = ()) -> None:
        self.names = list(dict.fromkeys(names)) if names else available_models()
        if not self.names:
            raise InputError("no model to serve: registry.yaml names none; give --model NAME_OR_FOLDER")
        self.device = device
        self.overrides = list(overrides)
        self._loaded: dict[str, Pipeline] = {}
        self._locks = {name: threading.Lock() for name in self.names}

    @property
    def default(self) -> str:
        return self.names[0]

    def resolve(self, name: str | None) -> str:
        """The offered model `name` means (None: the default); InputError for one not offered."""
        if name is None or name == "":
            return self.default
        if name not in self._locks:
            raise InputError(f"this server does not offer the model '{name}'; it offers: {', '.join(self.names)}")
        return name

    def get(self, name: str | None) -> Pipeline:
        name = self.resolve(name)
        with self._locks[name]:  # one load per model, however many requests ask for it at once
            if name not in self._loaded:
                self._loaded[name] = Pipeline.from_pretrained(name, overrides=self.overrides).to(self.device)
            return self._loaded[name]

    def loaded(self) -> list[str]:
        return [name for name in self.names if name in self._loaded]
