"""Example unclip plugin: registers the `heun` sampler, the `byte_clip` encoder and the `unclip heun-demo` command."""

from unclip_core import hookimpl

from . import demo
from .encoder import ByteCLIP
from .heun import HeunSampler


@hookimpl
def unclip_register_components(register):
    register(HeunSampler)
    register(ByteCLIP)


@hookimpl
def unclip_register_commands(register):
    register(
        "heun-demo", demo.run, arguments=demo.add_arguments,
        help="Heun's error against the exact solution on Gaussian data, next to DDIM's at equal cost",
    )
