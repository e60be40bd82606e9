"""Example unclip plugin: registers the `heun` sampler and the `byte_clip` encoder."""

from unclip_core import hookimpl

from .encoder import ByteCLIP
from .heun import HeunSampler


@hookimpl
def unclip_register_components(register):
    register(HeunSampler)
    register(ByteCLIP)
