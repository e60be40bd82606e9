"""Contract test bases that built-in and third-party components pass.

A plugin author subclasses a contract in their own tests and fills in the fixtures:

    from unclip_core.testing import SamplerContract

    class TestMySampler(SamplerContract):
        sampler_type = "my_sampler"

pytest collects the inherited tests. Each contract builds components through the registry,
so it also proves the plugin is registered and its config validates.
"""

from .decoder_contract import DecoderContract, UpsamplerContract
from .encoder_contract import EncoderContract
from .helpers import (
    build_component,
    every_sampler,
    gaussian_denoiser,
    installed_plugins,
    random_text,
    synthetic_prior_task,
)
from .metric_contract import MetricContract
from .prior_contract import PriorContract
from .sampler_contract import SamplerContract

__all__ = [
    "DecoderContract",
    "EncoderContract",
    "MetricContract",
    "PriorContract",
    "SamplerContract",
    "UpsamplerContract",
    "build_component",
    "every_sampler",
    "gaussian_denoiser",
    "installed_plugins",
    "random_text",
    "synthetic_prior_task",
]
