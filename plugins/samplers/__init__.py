"""The built-in samplers: ddpm, ddim (with inversion), dpmpp_2m and repaint."""

from unclip_core import hookimpl

from .ddim import DDIMSampler
from .ddpm import DDPMSampler
from .dpmpp_2m import DPMPP2MSampler
from .repaint import RePaintSampler


@hookimpl
def unclip_register_components(register):
    register(DDPMSampler)
    register(DDIMSampler)
    register(DPMPP2MSampler)
    register(RePaintSampler)
