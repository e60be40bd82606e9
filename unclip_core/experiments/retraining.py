"""Which stages a variant must train, and a run folder that reuses the base's other stages.

A stage is trained again when its section differs from the base in anything but sampling:
its type, architecture or training fields, its `train.<stage>` settings (but bookkeeping such
as checkpoint intervals), or anything shared by all stages (data, trainer, seed). Sampler sections and a component's `sampling_fields`
(guidance, draws per prompt) change nothing a stage learned, and a stage with nothing to learn
(`trainable = False`) is built, not trained. A new encoder changes every
stage's inputs, so every stage trains again.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from ..graph import Graph
from ..model_files import ModelFiles
from ..training.recipe import MARKER, learned, learned_settings, stages, write_marker

SHARED_BY_ALL = ("data", "trainer", "seed")


def stages_to_train(base: Graph, variant: Graph) -> list[str]:
    """Names (as in the pipeline folder: encoder, prior, decoder, upsampler_0, ...) in training order.

    A stage with nothing to learn (a caption-only prior) is never among them: the variant
    builds it as it samples, with no run folder and no copy of the base's weights for it."""
    trainable = [stage.name for stage in stages(variant) if not stage.stateless]
    if learned(base.encoder) != learned(variant.encoder):
        return trainable
    base_dict, variant_dict = base.to_dict(), variant.to_dict()
    if any(base_dict.get(key) != variant_dict.get(key) for key in SHARED_BY_ALL):
        return trainable
    return [name for name in trainable if learned_settings(base, name) != learned_settings(variant, name)]


def training_key(base: str, variant: Graph, retrain: list[str]) -> str:
    """Names what `retrain` learns from (and the `base` the other stages come from): variants with
    the same key train the same weights, so they share one run (a prior trained once serves
    every guidance scale and draw count)."""
    from .records import fingerprint

    graph = variant.to_dict()
    return fingerprint({"base": base, "learned": {name: learned_settings(variant, name) for name in retrain},
                        "encoder": learned(variant.encoder), **{key: graph.get(key) for key in SHARED_BY_ALL}})


def prepare_run(base: ModelFiles, variant: Graph, retrain: list[str]) -> None:
    """Copy the base's weights of every stage the variant keeps into its run folder, and mark
    them finished, so `train_all` trains only `retrain`. A run already under way is left as is."""
    run_dir = Path(variant.run_dir)
    if (run_dir / MARKER).is_file():
        return
    target = run_dir / "pipeline"
    target.mkdir(parents=True, exist_ok=True)
    kept = {}
    for stage in stages(variant):
        if stage.name in retrain or stage.stateless:  # a stateless stage is recorded when train_all builds it
            continue
        weights = base.path(f"{stage.name}.safetensors")
        if weights.is_file():
            shutil.copy2(weights, target / weights.name)
        kept[stage.name] = {"copied_from": str(weights.parent), "settings": learned_settings(variant, stage.name)}
    write_marker(variant, kept)
