"""The user-facing Pipeline: load, save, and run text -> z_i -> image -> upsampled image."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from omegaconf import OmegaConf
from PIL.Image import Image

from .catalog import base_chain, load_catalog
from .budget import check_budget, chunk_images, max_pixels
from .errors import ConfigError, InputError, WeightsError
from .finite import require_finite_output
from .graph import Components, Graph, build, graph_from_dict
from .images import to_pil
from .interfaces import Sampler, SamplingStage, TextEncoding
from .limits import COUNT, GUIDANCE, SEED
from .model_files import ModelFiles
from .pipeline_editing import EditingMethods
from .plugins import get_registry
from .stage_options import (
    PipelineCallback, SamplerChoice, SamplingSettings, component_for_call, sampler_for_call, stage_callback,
)
from .weights import load_module, save_folder

if TYPE_CHECKING:
    from .graph import Node

NON_FINITE_HINT = (
    "Lower the guidance scale or the number of steps, try another sampler, or check that the "
    "pipeline's weights were trained without diverging"
)


class Pipeline(EditingMethods):
    """A built graph with its weights. Absent stages (e.g. no prior yet) are None.

    Editing (vary, interpolate, text_diff, inpaint, outpaint) comes from EditingMethods.
    """

    def __init__(self, graph: Graph, components: Components) -> None:
        if not isinstance(graph, Graph) or not isinstance(components, Components):
            raise InputError(
                f"Pipeline(graph, components) takes a validated Graph and its built Components, got "
                f"{type(graph).__name__} and {type(components).__name__}; load a saved pipeline with "
                "Pipeline.from_pretrained(NAME_OR_FOLDER) or build one with Pipeline.from_graph(load_graph(FILE))"
            )
        self.graph = graph
        self.components = components

    # ---- construction -------------------------------------------------------------------
    @classmethod
    def from_graph(cls, graph: Graph) -> Pipeline:
        if not isinstance(graph, Graph):
            raise InputError(
                f"Pipeline.from_graph takes a Graph, got {type(graph).__name__}; "
                "make one with unclip_core.graph.load_graph(FILE) or graph_from_dict(DICT)"
            )
        return cls(graph, build(graph))

    @classmethod
    def from_pretrained(cls, name_or_folder: str | Path | None = None, overrides: Sequence[str] = ()) -> Pipeline:
        """Load a pipeline folder, or a model named in registry.yaml or by a plugin."""
        files = resolve_model(name_or_folder)
        files.verify()
        graph = graph_from_dict(OmegaConf.load(files.graph_file), overrides, check_trainer=False)
        if files.path("encoder.safetensors").is_file():  # the folder's weights replace any original source
            encoder = get_registry().get("encoder", graph.encoder.type)
            saved = replace(graph.encoder, config=encoder.config_for_saved_weights(graph.encoder.config))
            graph = replace(graph, encoder=saved)
        pipeline = cls.from_graph(graph)
        for stem, module in pipeline.modules().items():
            if not module.state_dict():
                continue  # nothing learned (a caption-only prior): a base model's file is not for it
            path = files.path(f"{stem}.safetensors")
            if not path.is_file():
                raise WeightsError(
                    f"{files.folder} has no {stem}.safetensors but its pipeline.yaml has a {stem}; "
                    "the folder is incomplete: copy it again or save the pipeline again"
                )
            load_module(module, path)
        pipeline.eval()
        return pipeline

    def save_pretrained(self, folder: str | Path, dtype: torch.dtype | None = None) -> Path:
        # Components with no state (e.g. a caption-only prior) have nothing to save.
        stateful = {stem: m for stem, m in self.modules().items() if m.state_dict()}
        return save_folder(folder, self.graph.to_yaml(), stateful, dtype=dtype)

    def modules(self) -> dict[str, torch.nn.Module]:
        """File stem -> module: encoder, prior, decoder, upsampler_0, upsampler_1, ..."""
        c = self.components
        found: dict[str, torch.nn.Module | None] = {"encoder": c.encoder, "prior": c.prior, "decoder": c.decoder}
        found.update({f"upsampler_{i}": up for i, up in enumerate(c.upsamplers)})
        return {stem: m for stem, m in found.items() if m is not None}

    def to(self, device: torch.device | str) -> Pipeline:
        for module in self.modules().values():
            module.to(device)
        return self

    def eval(self) -> Pipeline:
        for module in self.modules().values():
            module.eval()
        return self

    def with_options(
        self, prior: SamplingSettings = None, decoder: SamplingSettings = None, upsamplers: SamplingSettings = None
    ) -> Pipeline:
        """This pipeline with some sampling settings changed: the prior's, the decoder's, every
        upsampler's, each a mapping of its component's `sampling_fields` (docs/config.md lists them).

        The result shares every weight with this one, whose settings stay as they were, so one
        loaded pipeline serves calls that each want their own; its graph records the new values,
        so saving it saves them. Editing operations run on it as on any pipeline:
        `pipe.with_options(decoder={"guidance_scale": 3}).vary("cat.png")`.
        """
        if not (prior or decoder or upsamplers):
            return self
        c, g = self.components, self.graph
        for stage, settings, component in (("prior", prior, c.prior), ("decoder", decoder, c.decoder)):
            if settings and component is None:
                raise InputError(f"this pipeline has no {stage}, so it has no {stage} settings to set")
        if upsamplers and not c.upsamplers:
            raise InputError("this pipeline has no upsamplers, so it has no upsampler settings to set")
        new_prior = component_for_call("prior", c.prior, prior) if c.prior is not None else None
        new_decoder = component_for_call("decoder", c.decoder, decoder) if c.decoder is not None else None
        new_upsamplers = [component_for_call(f"upsamplers.{i}", u, upsamplers) for i, u in enumerate(c.upsamplers)]
        components = replace(c, prior=new_prior, decoder=new_decoder, upsamplers=new_upsamplers)
        graph = replace(
            g,
            prior=_with_config(g.prior, new_prior),
            decoder=_with_config(g.decoder, new_decoder),
            upsamplers=tuple(_with_config(node, u) for node, u in zip(g.upsamplers, new_upsamplers)),
        )
        return type(self)(graph, components)

    def stage_samplers(
        self,
        *,
        prior_sampler: SamplerChoice = None,
        prior_steps: int | None = None,
        decoder_sampler: SamplerChoice = None,
        decoder_steps: int | None = None,
        upsampler_sampler: SamplerChoice = None,
        upsampler_steps: int | None = None,
    ) -> list[tuple[str, Any, Sampler | None]]:
        """(label, component, sampler) of every stage generate runs, in order (the prior, the
        decoder, each upsampler), with the sampler a call's choices make (None: the component's
        own). The labels are what progress bars and callbacks name the stages by; upsamplers
        share one choice. Every stage is asked whether it can sample with its sampler before
        any runs (`check_sampler`), so a call one stage would refuse costs no other stage's work."""
        c = self.components
        if c.prior is None or c.decoder is None:
            raise ConfigError("this pipeline has no prior or no decoder; generation needs both")
        choices = {
            "prior": (prior_sampler, prior_steps),
            "decoder": (decoder_sampler, decoder_steps),
            "upsampler": (upsampler_sampler, upsampler_steps),
        }
        stages = [
            (label, component, sampler_for_call(label, component.sampler, *choices[component.kind]))
            for label, component in self.sampling_stages()
        ]
        for _, component, sampler in stages:
            _check_sampler(component, sampler)
        return stages

    def sampling_stages(self) -> list[tuple[str, SamplingStage]]:
        """(label, component) of every stage this pipeline has that samples: the prior, the
        decoder, each upsampler, in the order generate runs them."""
        c = self.components
        present = [(label, stage) for label, stage in (("prior", c.prior), ("decoder", c.decoder)) if stage is not None]
        return present + [(f"upsampler {i}", u) for i, u in enumerate(c.upsamplers)]

    def check_samplers(self) -> None:
        """Refuse (InputError), before any stage runs, a pipeline with a stage that cannot
        sample with its configured sampler. Editing operations sample with the configured
        samplers, so every edit is checked by this first."""
        for _, component in self.sampling_stages():
            _check_sampler(component, None)

    @property
    def output_size(self) -> int:
        """Side in pixels of the images generate returns: the last upsampler's, else the decoder's."""
        c = self.components
        if c.upsamplers:
            return c.upsamplers[-1].to_size
        if c.decoder is None:
            raise ConfigError("this pipeline has no decoder, so it makes no images")
        return c.decoder.image_size

    @property
    def device(self) -> torch.device:
        return next(self.components.encoder.parameters()).device

    # ---- inference ----------------------------------------------------------------------
    @torch.no_grad()
    def encode_text(self, prompts: Sequence[str]) -> TextEncoding:
        return self.components.encoder.embed_texts(prompts)

    @torch.no_grad()
    def encode_image(self, images: torch.Tensor) -> torch.Tensor:
        return self.components.encoder.encode_image(images.to(self.device))

    @torch.no_grad()
    def generate(
        self,
        prompts: Sequence[str],
        *,
        num_images: int = 1,
        generator: torch.Generator | None = None,
        prior_guidance: float | None = None,
        decoder_guidance: float | None = None,
        prior_steps: int | None = None,
        decoder_steps: int | None = None,
        upsampler_steps: int | None = None,
        prior_sampler: SamplerChoice = None,
        decoder_sampler: SamplerChoice = None,
        upsampler_sampler: SamplerChoice = None,
        prior_options: SamplingSettings = None,
        decoder_options: SamplingSettings = None,
        upsampler_options: SamplingSettings = None,
        callback: PipelineCallback | None = None,
        progress: bool = False,
        budget: int | None = None,
    ) -> torch.Tensor:
        """Images in [-1, 1], `num_images` per prompt (prompt-major): prior, decoder, upsamplers.

        Every stage samples prompts x num_images in batches (one, unless the request is larger
        than a chunk: see below). Options hold for this call
        only and change nothing on the pipeline, so threads may share it:
        `*_sampler` picks a stage's sampler (a Sampler, a graph section such as
        {"type": NAME, "steps": 20}, or a type name; a section without steps keeps the
        configured count),
        `*_steps` its number of steps, `*_guidance` its guidance scale, `*_options` any of its
        component's sampling settings (a mapping of some of its `sampling_fields`, as
        docs/config.md lists them); upsampler steps, sampler and options apply to every
        upsampler. `callback(stage, i, x_t, x0)` sees every network evaluation; `progress` shows
        a bar per stage.

        Every number is range-checked first, and a request of more output pixels than `budget`
        (default: UNCLIP_MAX_PIXELS, see unclip_core/budget.py) is refused before sampling; what
        passes is sampled in chunks of UNCLIP_CHUNK_PIXELS output pixels, which bound the memory
        the networks use. A stage whose
        output holds NaN or infinity raises NumericalError naming the stage.
        """
        prompts = checked_prompts(prompts)
        COUNT.check("num_images", num_images)
        GUIDANCE.check("prior_guidance", prior_guidance)
        GUIDANCE.check("decoder_guidance", decoder_guidance)
        view = self.with_options(prior_options, decoder_options, upsampler_options)
        stages = view.stage_samplers(
            prior_sampler=prior_sampler, prior_steps=prior_steps, decoder_sampler=decoder_sampler,
            decoder_steps=decoder_steps, upsampler_sampler=upsampler_sampler, upsampler_steps=upsampler_steps,
        )
        side = self.output_size
        check_budget(len(prompts), num_images, side, max_pixels(budget))

        def run(index: int, *args, **kwargs) -> torch.Tensor:
            label, component, sampler = stages[index]
            with stage_callback(label, sampler or component.sampler, progress, callback) as report:
                out = component.sample(*args, generator=generator, sampler=sampler, callback=report, **kwargs)
            # One check per stage output (never per step): NaN would otherwise be saved as black pixels.
            return require_finite_output(out, label, NON_FINITE_HINT)

        requests = [p for p in prompts for _ in range(num_images)]
        step = chunk_images(side)
        chunks = []
        with self._autocast():
            for first in range(0, len(requests), step):
                text = self.encode_text(requests[first:first + step])
                z_i = run(0, text, guidance_scale=prior_guidance)
                images = run(1, z_i, text, guidance_scale=decoder_guidance)
                for index in range(2, len(stages)):
                    images = run(index, images)
                chunks.append(images.float())
        return chunks[0] if len(chunks) == 1 else torch.cat(chunks)

    def __call__(
        self,
        prompt: str | Sequence[str],
        *,
        num_images: int = 1,
        seed: int | None = None,
        generator: torch.Generator | None = None,
        progress: bool = True,
        **options,
    ) -> list[Image]:
        """PIL images, `num_images` per prompt, prompt-major. The same `seed` gives the same images.

        Options are those of `generate`: *_guidance, *_steps, *_sampler, *_options, callback.
        """
        if seed is not None and generator is not None:
            raise InputError("give either seed= or generator=, not both")
        prompts = checked_prompts(prompt)
        SEED.check("seed", seed)
        if seed is not None:
            generator = torch.Generator(self.device).manual_seed(seed)
        images = self.generate(prompts, num_images=num_images, generator=generator, progress=progress, **options)
        return to_pil(images)

    def _autocast(self):
        """bf16 autocast on CUDA (fast, and what the GPU recipe trains in); full precision elsewhere."""
        if self.device.type == "cuda":
            return torch.autocast("cuda", dtype=torch.bfloat16)
        return contextlib.nullcontext()


def _check_sampler(component: SamplingStage, sampler: Sampler | None) -> None:
    """`component.check_sampler` for the sampler a call gives it (None: its configured one)."""
    chosen = sampler or component.sampler
    if chosen is not None:
        component.check_sampler(chosen)


def _with_config(node: Node | None, component: Any) -> Node | None:
    """`node` holding `component`'s config, which may differ from it by sampling settings."""
    if node is None or node.config is component.config:
        return node
    return replace(node, config=component.config)


def checked_prompts(prompts: str | Sequence[str]) -> list[str]:
    """A list of prompt strings: one string is one prompt (not a sequence of one-letter prompts)."""
    if isinstance(prompts, str):
        return [prompts]
    if not isinstance(prompts, Sequence) or not prompts:
        raise InputError(f"give a prompt or a non-empty list of prompts, got {prompts!r}")
    for prompt in prompts:
        if not isinstance(prompt, str):
            raise InputError(f"every prompt must be a string, got {type(prompt).__name__} {prompt!r}")
    return list(prompts)


def resolve_model(name_or_folder: str | Path | None) -> ModelFiles:
    """A folder path, else a name from registry.yaml or a plugin; None means the default model."""
    if name_or_folder is not None and not isinstance(name_or_folder, (str, Path)):
        raise InputError(
            f"a model is a registered name or a pipeline folder (a string or a Path), got {type(name_or_folder).__name__}"
        )
    catalog = load_catalog()
    name = name_or_folder if name_or_folder is not None else catalog.default_model
    if name is None:
        raise ConfigError("no model given and registry.yaml names no default_model")
    path = Path(name)
    if path.is_dir():
        return ModelFiles.of_folder(path)
    if str(name) in catalog.models:
        chain = base_chain(catalog.models, str(name), catalog.path)
        return ModelFiles(tuple((model.folder, model.sha256) for model in chain))
    plugin_models = get_registry().models()
    if str(name) in plugin_models:
        return ModelFiles.of_folder(plugin_models[str(name)].folder)
    known = sorted([*catalog.models, *plugin_models])
    raise WeightsError(f"'{name}' is neither a pipeline folder nor a known model; known models: {', '.join(known) or 'none'}")
