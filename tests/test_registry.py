"""Plugins load through pluggy: built-ins from registry.yaml, packages through entry points."""

from typing import ClassVar

import pytest
from pydantic import BaseModel

from unclip_core import hookimpl
from unclip_core.errors import PluginError
from unclip_core.graph import graph_from_dict
from unclip_core.interfaces import ComponentConfig, Sampler
from unclip_core.plugins import build_registry, plugin_manager
from unclip_core.testing import build_component, installed_plugins
from unclip_plugins.samplers.ddim import DDIMSampler


class RenamedDDIM(DDIMSampler):
    """A DDIM under another name."""

    name: ClassVar[str] = "ddim_copy"


class ClashingDDIM(DDIMSampler):
    """A second class claiming the name 'ddim'."""

    name: ClassVar[str] = "ddim"


class Registers:
    """A plugin object registering the given classes."""

    def __init__(self, *classes):
        self.classes = classes

    @hookimpl
    def unclip_register_components(self, register):
        for cls in self.classes:
            register(cls)


def test_built_ins_are_registered_with_their_plugin_names():
    entries = {(e.kind, e.name): e.plugin for e in build_registry(plugin_manager()).entries()}
    assert entries[("encoder", "open_clip")] == "unclip.open_clip"
    for sampler in ("ddpm", "ddim", "dpmpp_2m"):
        assert entries[("sampler", sampler)] == "unclip.samplers"


def test_example_package_is_found_through_its_entry_point():
    registry = build_registry(plugin_manager())
    if ("sampler", "heun") not in {(e.kind, e.name) for e in registry.entries()}:
        pytest.fail("the example plugin is not installed: pip install -e examples/unclip-heun")
    assert {e.name: e.plugin for e in registry.entries()}["heun"] == "heun"


def test_unclip_load_plugins_restricts_third_party_plugins(monkeypatch):
    monkeypatch.setenv("UNCLIP_LOAD_PLUGINS", "")
    names = build_registry(plugin_manager()).names("sampler")
    assert "heun" not in names and "ddim" in names  # built-ins always load
    monkeypatch.setenv("UNCLIP_LOAD_PLUGINS", "heun")
    assert "heun" in build_registry(plugin_manager()).names("sampler")


def test_a_third_party_component_is_selected_from_yaml():
    sampler = build_component("sampler", {"type": "heun", "steps": 4})
    assert type(sampler).__module__.startswith("unclip_heun") and sampler.steps == 4


def test_in_process_plugin_registers_and_builds():
    with installed_plugins(mine=Registers(RenamedDDIM)) as registry:
        assert {e.name: e.plugin for e in registry.entries()}["ddim_copy"] == "mine"
        assert isinstance(build_component("sampler", {"type": "ddim_copy", "eta": 0.5}), RenamedDDIM)
    with pytest.raises(Exception, match="unknown sampler type 'ddim_copy'"):
        build_component("sampler", {"type": "ddim_copy"})


def test_two_plugins_claiming_one_name_is_an_error_naming_both():
    with pytest.raises(PluginError, match=r"two plugins register the sampler 'ddim': 'unclip.samplers' .* and 'rival'"):
        build_registry(plugin_manager(extra=[("rival", Registers(ClashingDDIM))]))


class NoName(Sampler):
    """Forgot its name."""

    def sample(self, *args, **kwargs): ...


class LooseConfig(DDIMSampler):
    """Its config accepts any key."""

    name: ClassVar[str] = "loose"

    class Config(BaseModel):
        steps: int = 3


class NotAComponent:
    name = "plain"
    Config = ComponentConfig


@pytest.mark.parametrize(
    "cls, message",
    [
        (NoName, "without a `name"),
        (LooseConfig, "must forbid unknown keys"),
        (NotAComponent, "must subclass exactly one of the interfaces"),
    ],
)
def test_malformed_components_are_rejected_naming_the_plugin(cls, message):
    with pytest.raises(PluginError, match=f"plugin 'bad'.*{message}"):
        build_registry(plugin_manager(extra=[("bad", Registers(cls))]))


def test_unknown_type_error_reaches_the_graph(tiny_graph_dict):
    with pytest.raises(Exception, match=r"registered encoder types: (\w+, )*open_clip"):
        graph_from_dict(tiny_graph_dict, ["encoder.type=missing"])
