"""Contract test bases that built-in and third-party components pass.

A plugin author subclasses a contract in their own tests and fills in the fixtures:

    from unclip_core.testing import SamplerContract

    class TestMySampler(SamplerContract):
        sampler_type = "my_sampler"

pytest collects the inherited tests. Each contract builds components through the registry,
so it also proves the plugin is registered and its config validates.
"""

import importlib

from .helpers import (
    build_component,
    every_sampler,
    gaussian_denoiser,
    installed_plugins,
    random_text,
    synthetic_prior_task,
)

# The contract bases need pytest, which only tests install; the helpers do not, so a plugin's
# own command may use them. Each contract is imported on first use.
_CONTRACTS = {
    "DataSourceContract": "dataset_contract",
    "DecoderContract": "decoder_contract",
    "UpsamplerContract": "decoder_contract",
    "EncoderContract": "encoder_contract",
    "MetricContract": "metric_contract",
    "PriorContract": "prior_contract",
    "SamplerContract": "sampler_contract",
}


def __getattr__(name: str):
    if name not in _CONTRACTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f".{_CONTRACTS[name]}", __name__), name)


__all__ = [
    "DataSourceContract",
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
