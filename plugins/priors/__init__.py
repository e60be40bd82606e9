"""The built-in priors: diffusion_prior, ar_prior and the text_as_image baseline."""

from unclip_core import hookimpl

from .ar_prior import ARPrior
from .diffusion_prior import DiffusionPrior
from .text_as_image import TextAsImagePrior


@hookimpl
def unclip_register_components(register):
    register(DiffusionPrior)
    register(ARPrior)
    register(TextAsImagePrior)
