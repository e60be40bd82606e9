"""Which stages a variant must train, and a run folder that reuses the base's other stages.

A stage is trained again when its section differs from the base in anything but sampling:
its type, architecture or training fields, its `train.<stage>` settings, or anything shared by
all stages (data, trainer, seed). Sampler sections and a component's `sampling_fields`
(guidance, draws per prompt) change nothing a stage learned. A new encoder changes every
stage's inputs, so every stage trains again.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from ..graph import Graph, Node
from ..registry import Registry
from ..training.recipe import MARKER, stages, write_marker

SHARED_BY_ALL = ("data", "trainer", "seed")


def stages_to_train(base: Graph, variant: Graph, registry: Registry) -> list[str]:
    """Names (as in the pipeline folder: encoder, prior, decoder, upsampler_0, ...) in training order."""
    trainable = [stage.name for stage in stages(variant)]
    if _learned(base.encoder, registry) != _learned(variant.encoder, registry):
        return trainable
    base_dict, variant_dict = base.to_dict(), variant.to_dict()
    if any(base_dict.get(key) != variant_dict.get(key) for key in SHARED_BY_ALL):
        return trainable
    changed = []
    for name in trainable:
        settings = _train_settings(name)
        if _learned(_node(base, name), registry) != _learned(_node(variant, name), registry):
            changed.append(name)
        elif getattr(base.train, settings) != getattr(variant.train, settings):
            changed.append(name)
    return changed


def prepare_run(base_folder: Path, variant: Graph, retrain: list[str]) -> None:
    """Copy the base's weights of every stage the variant keeps into its run folder, and mark
    them finished, so `train_all` trains only `retrain`. A run already under way is left as is."""
    run_dir = Path(variant.run_dir)
    if (run_dir / MARKER).is_file():
        return
    target = run_dir / "pipeline"
    target.mkdir(parents=True, exist_ok=True)
    kept = {}
    for stage in stages(variant):
        if stage.name in retrain:
            continue
        weights = base_folder / f"{stage.name}.safetensors"
        if weights.is_file():
            shutil.copy2(weights, target / weights.name)
        kept[stage.name] = {"copied_from": str(base_folder)}
    write_marker(variant, kept)


def _train_settings(name: str) -> str:
    """Stage name -> its key under the graph's `train:` section."""
    if name == "encoder":
        return "clip"
    return "upsampler" if name.startswith("upsampler_") else name


def _node(graph: Graph, name: str) -> Node | None:
    if name.startswith("upsampler_"):
        index = int(name.removeprefix("upsampler_"))
        return graph.upsamplers[index] if index < len(graph.upsamplers) else None
    return getattr(graph, name)


def _learned(node: Node | None, registry: Registry) -> dict[str, Any] | None:
    """What of a section shapes the weights: everything but its nested samplers and sampling fields."""
    if node is None:
        return None
    cls = registry.get(node.kind, node.type)
    config = {key: value for key, value in node.config.model_dump(mode="json").items() if key not in cls.sampling_fields}
    return {"type": node.type, **config}
