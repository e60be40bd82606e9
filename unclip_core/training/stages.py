"""What every training stage shares: the run's pipeline folder, its data module, and the fit."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import lightning as L
import torch
from torch.utils.data import IterableDataset

from ..errors import ConfigError
from ..graph import Graph, build, build_node
from ..pipeline import Pipeline
from ..plugins import get_registry
from ..weights import load_module, save_folder
from .columns import Tokenizer
from .distributed import main_process_writes
from .data import DeviceDataModule, PairDataModule, fits_on_device
from .stage_module import StageModule
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


def missing_section(stage: str, section: str, kind: str) -> ConfigError:
    """The error for a graph lacking what training `stage` needs, naming the types to choose from."""
    types = ", ".join(get_registry().names(kind)) or "none registered"
    shape = "[{type: NAME, ...}]" if section == "upsamplers" else "{type: NAME, ...}"
    return ConfigError(f"training the {stage} needs a `{section}:` section, e.g. {section}: {shape} with NAME one of: {types}")


def data_module(graph: Graph, stage: str, tokenizer: Tokenizer | None = None) -> PairDataModule:
    """The stage's data: held on the training device or read through a DataLoader (`feed`)."""
    if graph.data is None:
        raise missing_section(stage, "data", "dataset")
    source = build_node(graph.data, get_registry())
    dataset = source.train_set()
    if not isinstance(dataset, IterableDataset) and len(dataset) == 0:  # refused before a run folder is made
        raise ConfigError(f"data: the '{graph.data.type}' source has no training items with these settings; loosen what limits it in the data section")
    settings = graph.train.for_stage(stage)
    on_device = settings.feed == "device" or (settings.feed == "auto" and fits_on_device(source, training_device(graph)))
    if on_device:
        return DeviceDataModule(source, batch_size=settings.batch_size, tokenizer=tokenizer)
    return PairDataModule(source, batch_size=settings.batch_size)


def training_device(graph: Graph) -> torch.device:
    """Where the trainer will run, as far as `auto` needs to know: a GPU when asked for or present."""
    accelerator = str(graph.trainer.get("accelerator", "auto"))
    if accelerator in ("gpu", "cuda") or (accelerator == "auto" and torch.cuda.is_available()):
        return torch.device("cuda", torch.cuda.current_device())
    return torch.device("cpu")


def fit_stage(
    graph: Graph, stage: str, module: StageModule, data: L.LightningDataModule, directory: str | None = None
) -> None:
    """Fit `module` with the stage's trainer, resuming from its `last.ckpt`; keep the EMA weights.

    `directory` separates stages that share settings (upsampler_0, upsampler_1, ...).
    """
    module.batch_size = getattr(data, "batch_size", None)
    if isinstance(data, DeviceDataModule):
        data.features = module.frozen_features
    trainer, ema = make_trainer(graph, stage, directory=directory, component=module.component)
    trainer.fit(module, datamodule=data, ckpt_path=resume_path(graph, directory or stage))
    if ema is not None:
        ema.apply(module.component)
    module.unshard()


def export_stage(graph: Graph, pipeline: Pipeline, stem: str) -> Path:
    """Save the stage just trained (`stem`) into the run's pipeline folder, next to earlier stages.

    The saved graph keeps only components that have weights (or need none), so the folder
    always loads with `Pipeline.from_pretrained`, even before every stage is trained.
    """
    folder = pipeline_dir(graph)
    modules = pipeline.modules()
    # The encoder is always saved: later stages were trained on its embeddings, whether this run
    # trained it or took it as given, and a folder without it would not load.
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
    # Every process holds the same weights after a fit; one writes them and the rest wait to read.
    main_process_writes(lambda: save_folder(folder, subset.to_yaml(), stateful))
    return folder
