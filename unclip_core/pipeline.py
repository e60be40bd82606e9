"""The user-facing Pipeline: load, save, and run text -> z_i -> image -> upsampled image."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch
from omegaconf import OmegaConf
from PIL.Image import Image

from .catalog import load_catalog
from .errors import ConfigError, WeightsError
from .graph import Components, Graph, build, graph_from_dict
from .images import to_pil
from .interfaces import TextEncoding
from .pipeline_editing import EditingMethods
from .weights import GRAPH_FILE, load_module, save_folder, verify_folder


class Pipeline(EditingMethods):
    """A built graph with its weights. Absent stages (e.g. no prior yet) are None.

    Editing (vary, interpolate, text_diff, inpaint, outpaint) comes from EditingMethods.
    """

    def __init__(self, graph: Graph, components: Components) -> None:
        self.graph = graph
        self.components = components

    # ---- construction -------------------------------------------------------------------
    @classmethod
    def from_graph(cls, graph: Graph) -> Pipeline:
        return cls(graph, build(graph))

    @classmethod
    def from_pretrained(cls, name_or_folder: str | Path | None = None, overrides: Sequence[str] = ()) -> Pipeline:
        """Load a pipeline folder, or a model named in registry.yaml or by a plugin."""
        folder, expected = resolve_model(name_or_folder)
        verify_folder(folder, expected)
        raw = OmegaConf.load(folder / GRAPH_FILE)
        if (folder / "encoder.safetensors").is_file():
            raw.encoder.pretrained = None  # the folder's own weights replace any original source
        graph = graph_from_dict(raw, overrides)
        pipeline = cls.from_graph(graph)
        for stem, module in pipeline.modules().items():
            path = folder / f"{stem}.safetensors"
            if path.is_file():
                load_module(module, path)
            elif module.state_dict():
                raise WeightsError(
                    f"{folder} has no {stem}.safetensors but its pipeline.yaml has a {stem}; "
                    "the folder is incomplete: copy it again or save the pipeline again"
                )
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
        generator: torch.Generator | None = None,
        prior_guidance: float | None = None,
        decoder_guidance: float | None = None,
    ) -> torch.Tensor:
        """Images in [-1, 1] for the prompts: prior, decoder, then every upsampler."""
        c = self.components
        if c.prior is None or c.decoder is None:
            raise ConfigError("this pipeline has no prior or no decoder; generation needs both")
        text = self.encode_text(prompts)
        z_i = c.prior.sample(text, generator=generator, guidance_scale=prior_guidance)
        images = c.decoder.sample(z_i, text, generator=generator, guidance_scale=decoder_guidance)
        for upsampler in c.upsamplers:
            images = upsampler.sample(images, generator=generator)
        return images

    def __call__(self, prompt: str | Sequence[str], *, seed: int | None = None, **options) -> list[Image]:
        prompts = [prompt] if isinstance(prompt, str) else list(prompt)
        generator = torch.Generator(self.device).manual_seed(seed) if seed is not None else None
        return to_pil(self.generate(prompts, generator=generator, **options))


def resolve_model(name_or_folder: str | Path | None) -> tuple[Path, dict[str, str]]:
    """A folder path, else a name from registry.yaml or a plugin; None means the default model."""
    catalog = load_catalog()
    name = name_or_folder if name_or_folder is not None else catalog.default_model
    if name is None:
        raise ConfigError("no model given and registry.yaml names no default_model")
    path = Path(name)
    if path.is_dir():
        return path, {}
    if str(name) in catalog.models:
        model = catalog.models[str(name)]
        return model.folder, model.sha256
    from .plugins import get_registry

    plugin_models = get_registry().models()
    if str(name) in plugin_models:
        return plugin_models[str(name)].folder, {}
    known = sorted([*catalog.models, *plugin_models])
    raise WeightsError(f"'{name}' is neither a pipeline folder nor a known model; known models: {', '.join(known) or 'none'}")
