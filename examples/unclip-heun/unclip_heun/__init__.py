"""Example unclip plugin: registers the `heun` sampler."""

from unclip_core import hookimpl

from .heun import HeunSampler


@hookimpl
def unclip_register_components(register):
    register(HeunSampler)
