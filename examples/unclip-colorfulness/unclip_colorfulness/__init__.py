"""Example unclip plugin: registers the `colorfulness` metric."""

from unclip_core import hookimpl

from .colorfulness import Colorfulness


@hookimpl
def unclip_register_components(register):
    register(Colorfulness)
