"""The built-in samplers: ddpm, ddim (with inversion) and dpmpp_2m."""

from unclip_core import hookimpl

from .ddim import DDIMSampler
from .ddpm import DDPMSampler
from .dpmpp_2m import DPMPP2MSampler


@hookimpl
def unclip_register_components(register):
    register(DDPMSampler)
    register(DDIMSampler)
    register(DPMPP2MSampler)
