"""The UNet decoder and the cascaded UNet upsamplers."""

from unclip_core import hookimpl

from .decoder import UNetDecoder
from .upsampler import UNetUpsampler


@hookimpl
def unclip_register_components(register):
    register(UNetDecoder)
    register(UNetUpsampler)
