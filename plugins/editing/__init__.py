"""Image manipulations in CLIP space: variations, interpolation, text diffs, inpainting, outpainting."""

from unclip_core import hookimpl

from .inpaint import Inpaint
from .interpolation import Interpolation
from .outpaint import Outpaint
from .text_diff import TextDiff
from .variations import Variations


@hookimpl
def unclip_register_components(register):
    register(Variations)
    register(Interpolation)
    register(TextDiff)
    register(Inpaint)
    register(Outpaint)
