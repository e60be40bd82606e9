"""One abstract base per concept. The interface a class subclasses is its kind."""

from .component import Component, ComponentConfig, EncoderDimensions
from .dataset import DataConfig, DataSource, Pair
from .decoder import Decoder
from .editing import EditingOperation, EditInputs
from .encoder import Encoder
from .metric import Metric, Samples, means
from .prior import Prior
from .sampler import Denoiser, Sampler, SamplerConfig, StepCallback
from .sampling_stage import SamplingStage
from .upsampler import Upsampler
from .values import EncoderSpec, TextEncoding

# kind name -> interface, in the order a pipeline is built.
KINDS: dict[str, type[Component]] = {
    "encoder": Encoder,
    "sampler": Sampler,
    "prior": Prior,
    "decoder": Decoder,
    "upsampler": Upsampler,
    "editing": EditingOperation,
    "dataset": DataSource,
    "metric": Metric,
}

__all__ = [
    "KINDS",
    "Component",
    "ComponentConfig",
    "DataConfig",
    "DataSource",
    "Decoder",
    "Denoiser",
    "EditInputs",
    "EditingOperation",
    "Encoder",
    "Metric",
    "means",
    "EncoderDimensions",
    "EncoderSpec",
    "Pair",
    "Prior",
    "Sampler",
    "SamplerConfig",
    "SamplingStage",
    "Samples",
    "StepCallback",
    "TextEncoding",
    "Upsampler",
]
