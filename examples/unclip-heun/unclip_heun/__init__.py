"""Example unclip plugin: registers the `heun` sampler and the `unclip heun-demo` command."""

from unclip_core import hookimpl

from . import demo
from .heun import HeunSampler


@hookimpl
def unclip_register_components(register):
    register(HeunSampler)


@hookimpl
def unclip_register_commands(register):
    register(
        "heun-demo", demo.run, arguments=demo.add_arguments,
        help="Heun's error against the exact solution on Gaussian data, next to DDIM's at equal cost",
    )
