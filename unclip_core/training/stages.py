"""What every training stage shares: the run's pipeline folder and its data module."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from ..errors import ConfigError
from ..graph import Graph, build, build_node
from ..pipeline import Pipeline
from ..plugins import get_registry
from ..weights import load_module, save_folder
from .data import PairDataModule


def pipeline_dir(graph: Graph) -> Path:
    """Where a run's stages leave their trained weights, as one loadable pipeline folder."""
    return Path(graph.run_dir) / "pipeline"


def load_run_pipeline(graph: Graph) -> Pipeline:
    """The graph's components, with weights of stages this run already trained."""
    pipeline = Pipeline(graph, build(graph))
    folder = pipeline_dir(graph)
    for stem, module in pipeline.modules().items():
        if (folder / f"{stem}.safetensors").is_file():
            load_module(module, folder / f"{stem}.safetensors")
    return pipeline


def data_module(graph: Graph, stage: str) -> PairDataModule:
    if graph.data is None:
        raise ConfigError(f"training the {stage} needs a `data:` section, e.g. data: {{type: shapes}}")
    source = build_node(graph.data, get_registry())
    return PairDataModule(source, batch_size=getattr(graph.train, stage).batch_size)


def export_stage(graph: Graph, pipeline: Pipeline, stem: str) -> Path:
    """Save the stage just trained (`stem`) into the run's pipeline folder, next to earlier stages.

    The saved graph keeps only components that have weights (or need none), so the folder
    always loads with `Pipeline.from_pretrained`, even before every stage is trained.
    """
    folder = pipeline_dir(graph)
    modules = pipeline.modules()
    # The encoder is always kept: every stage was trained against this exact encoder, even an
    # untrained (randomly initialized) one, and the folder must not load without it.
    ready = {
        s for s, m in modules.items()
        if s in (stem, "encoder") or not m.state_dict() or (folder / f"{s}.safetensors").is_file()
    }
    upsamplers = []
    for i, node in enumerate(graph.upsamplers):  # a stage is usable only after all before it
        if f"upsampler_{i}" not in ready:
            break
        upsamplers.append(node)
    subset = replace(
        graph,
        prior=graph.prior if "prior" in ready else None,
        decoder=graph.decoder if "decoder" in ready else None,
        upsamplers=tuple(upsamplers),
    )
    keep = {"encoder", "prior", "decoder", *(f"upsampler_{i}" for i in range(len(upsamplers)))}
    stateful = {s: m for s, m in modules.items() if s in ready and s in keep and m.state_dict()}
    return save_folder(folder, subset.to_yaml(), stateful)
