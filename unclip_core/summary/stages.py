"""The trainable stages of a graph, each as the LightningModule `unclip train` fits, built on the
meta device, with a batch of the shape its training feed gives it.

Stages are the ones `unclip train all` trains: the encoder (CLIP), the prior (when it has
something to learn), the decoder, and each upsampler. The prior and the decoder hold the frozen
encoder, as in training; their batches carry the encoder's outputs, as the on-device feed and
precomputed embeddings give them (docs/training.md), so their step does not run the encoder.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import torch
import torch.nn.functional as F
from torch import Tensor

from ..graph import Components, Graph, build_node, check_dimensions
from ..interfaces import EncoderSpec
from ..registry import Registry
from ..training.clip import CLIPModule
from ..training.decoder import DecoderModule
from ..training.prior import PriorModule
from ..training.stage_module import StageModule
from ..training.upsampler import UpsamplerModule
from .meta_build import build_on_meta

Batch = dict[str, Tensor]


@dataclass(frozen=True)
class Stage:
    """One trainable stage: `module(components)` is its training module around built components
    (as `unclip train` makes it: with real weights, e.g. `build(graph)`'s), `build()` the same
    around components on the meta device (a fresh one per call), and `batch(module, n, device)`
    a training batch of n items for that module."""

    name: str
    settings_key: str  # its section under the graph's `train:` (train.upsampler_<i>, or the shared train.upsampler)
    module: Callable[[Components], StageModule]
    meta_components: Callable[[], Components]  # what `module` reads, built on the meta device
    batch: Callable[[StageModule, int, torch.device], Batch]
    detail: str = ""  # shown beside the name, e.g. an upsampler's sizes
    # For a stage holding the frozen encoder, whose batch carries the encoder's outputs: what the
    # encoder would embed for n items, had the step to run it (fed through a DataLoader).
    encoder_batch: Callable[[int, torch.device], Batch] | None = None

    @property
    def step_skips_frozen_encoder(self) -> bool:
        return self.encoder_batch is not None

    def build(self) -> StageModule:
        """The stage's module on the meta device: shapes without memory."""
        return self.module(self.meta_components())


def graph_stages(graph: Graph, registry: Registry) -> list[Stage]:
    """Every trainable stage of `graph`, in training order. Runs the checks building runs
    (dimension clashes with the encoder); reads no weight file."""
    encoder_type = registry.get("encoder", graph.encoder.type)
    # The architecture alone: a weight file named by the graph is never read.
    encoder_node = replace(graph.encoder, config=encoder_type.config_for_saved_weights(graph.encoder.config))

    def encoder():
        return build_on_meta(build_node, encoder_node, registry)

    spec = encoder().spec
    # Stages train on the data's images (resizing them inside the step, as training does); without
    # a data section, on images of the size each stage works at.
    data_size = getattr(graph.data.config, "image_size", None) if graph.data is not None else None
    stages = [_clip_stage(graph, encoder, spec, data_size or spec.image_size)]
    if graph.prior is not None and registry.get("prior", graph.prior.type).trainable:
        check_dimensions(graph.prior, spec, graph.encoder.type)
        stages.append(_prior_stage(graph, registry, encoder, spec, data_size or spec.image_size))
    if graph.decoder is not None:
        check_dimensions(graph.decoder, spec, graph.encoder.type)
        stages.append(_decoder_stage(graph, registry, encoder, spec, data_size))
    for index, node in enumerate(graph.upsamplers):
        stages.append(_upsampler_stage(graph, registry, encoder, index, node, data_size))
    return stages


# Each stage's meta components hold what its module reads: the encoder, and its own component
# (every upsampler, for an upsampler stage, so that the module finds its own by index).


def _clip_stage(graph: Graph, encoder, spec: EncoderSpec, size: int) -> Stage:
    def module(components: Components) -> StageModule:
        return CLIPModule(components.encoder, graph.train.clip)

    def batch(module: StageModule, n: int, device: torch.device) -> Batch:
        return {**_captioned_images(n, size, spec, device), "caption_id": torch.arange(n, device=device)}

    return Stage("clip", "clip", module, lambda: Components(encoder=encoder()), batch)


def _prior_stage(graph: Graph, registry: Registry, encoder, spec: EncoderSpec, size: int) -> Stage:
    def module(components: Components) -> StageModule:
        return PriorModule(components.prior, graph.train.prior, encoder=components.encoder, seed=graph.seed)

    def meta_components() -> Components:
        return Components(encoder=encoder(), prior=build_on_meta(build_node, graph.prior, registry, spec=spec))

    return Stage("prior", "prior", module, meta_components, lambda module, n, device: encoder_outputs(n, spec, device),
                 encoder_batch=lambda n, device: _captioned_images(n, size, spec, device))


def _decoder_stage(graph: Graph, registry: Registry, encoder, spec: EncoderSpec, data_size: int | None) -> Stage:
    def module(components: Components) -> StageModule:
        return DecoderModule(components.decoder, components.encoder, graph.train.decoder)

    def meta_components() -> Components:
        return Components(encoder=encoder(), decoder=build_on_meta(build_node, graph.decoder, registry, spec=spec))

    def batch(module: StageModule, n: int, device: torch.device) -> Batch:
        size = data_size or module.component.image_size
        return {**_captioned_images(n, size, spec, device), **encoder_outputs(n, spec, device)}

    return Stage("decoder", "decoder", module, meta_components, batch,
                 encoder_batch=lambda n, device: _captioned_images(n, data_size or spec.image_size, spec, device))


def _upsampler_stage(graph: Graph, registry: Registry, encoder, index: int, node, data_size: int | None) -> Stage:
    name = f"upsampler_{index}"

    def module(components: Components) -> StageModule:
        return UpsamplerModule(components.upsamplers[index], graph.train.for_stage(name))

    def meta_components() -> Components:
        return Components(encoder=encoder(), upsamplers=[build_on_meta(build_node, n, registry) for n in graph.upsamplers])

    def batch(module: StageModule, n: int, device: torch.device) -> Batch:
        return {"image": _images(n, data_size or module.component.to_size, device)}

    # The sizes as graph.check_sizes reads them, for the stage's label.
    sizes = (getattr(node.config, "from_size", None), getattr(node.config, "to_size", None))
    return Stage(name, graph.train.section_of(name), module, meta_components, batch,
                 f"{sizes[0]}->{sizes[1]}" if None not in sizes else "")


# Batches hold random values rather than none (torch.empty), so that on a real device a step on
# them is a real step (benchmarks time them); on the meta device and fake tensors it costs nothing.


def encoder_outputs(n: int, spec: EncoderSpec, device: torch.device) -> Batch:
    """What the frozen encoder gives the prior and decoder per item, keyed as precomputed embeddings are."""
    return {
        "image_embedding": F.normalize(torch.randn(n, spec.embed_dim, device=device), dim=-1),
        "text_embedding": F.normalize(torch.randn(n, spec.embed_dim, device=device), dim=-1),
        "text_tokens": torch.randn(n, spec.context_length, spec.text_width, device=device),
        "text_mask": torch.ones(n, spec.context_length, dtype=torch.bool, device=device),
    }


def _images(n: int, size: int, device: torch.device) -> Tensor:
    return torch.randint(0, 256, (n, 3, size, size), dtype=torch.uint8, device=device)


def _captioned_images(n: int, size: int, spec: EncoderSpec, device: torch.device) -> Batch:
    """Images and their captions' tokens, as the on-device feed gathers them."""
    return {"image": _images(n, size, device), "tokens": torch.ones(n, spec.context_length, dtype=torch.long, device=device)}
