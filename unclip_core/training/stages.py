"""Running one training stage end to end: build, fit (resuming), export into the run's pipeline."""

from __future__ import annotations

from pathlib import Path

import lightning as L

from ..errors import ConfigError
from ..graph import Graph, build, build_node
from ..pipeline import Pipeline
from ..plugins import get_registry
from ..weights import load_module
from .clip import CLIPModule
from .data import PairDataModule
from .trainer import make_trainer, resume_path


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


def train_clip(graph: Graph) -> Path:
    """Train the encoder contrastively; returns the run's pipeline folder."""
    L.seed_everything(graph.seed, workers=True, verbose=False)
    pipeline = load_run_pipeline(graph)
    module = CLIPModule(pipeline.components.encoder, graph.train.clip)
    trainer, ema = make_trainer(graph, "clip")
    trainer.fit(module, datamodule=data_module(graph, "clip"), ckpt_path=resume_path(graph, "clip"))
    if ema is not None:
        ema.apply(pipeline.components.encoder)
    return pipeline.save_pretrained(pipeline_dir(graph))
