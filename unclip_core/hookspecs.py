"""The hooks a plugin implements. Decorate implementations with `unclip_core.hookimpl`."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pluggy

hookspec = pluggy.HookspecMarker("unclip")
hookimpl = pluggy.HookimplMarker("unclip")

# register(cls): adds one component class (an Encoder, Prior, Sampler, ... subclass).
RegisterComponent = Callable[[type], None]
# register(name, folder): adds one named, ready-to-load pipeline folder.
RegisterModel = Callable[[str, Path], None]


@hookspec
def unclip_register_components(register: RegisterComponent) -> None:
    """Call `register(cls)` once for every component class this plugin provides.

    The class's interface (Encoder, Prior, Decoder, Upsampler, Sampler, EditingOperation,
    DataSource or Metric) is its kind; its `name` is what YAML graphs write as `type:`. A name already
    registered for that kind by another plugin is an error that names both plugins.
    """


@hookspec
def unclip_register_models(register: RegisterModel) -> None:
    """Call `register(name, folder)` for every saved pipeline folder this plugin ships.

    Registered names can be passed wherever a model is chosen (`Pipeline.from_pretrained`,
    `unclip generate --model`), next to the models listed in registry.yaml.
    """
