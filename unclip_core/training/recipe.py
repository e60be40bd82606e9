"""`unclip train all`: every stage of a graph in order, skipping the ones a run already finished.

Order: clip (the encoder), prior, decoder, then each upsampler. A stage counts as finished when
run_dir/finished.json names it *and* its weights are in run_dir/pipeline; an interrupted stage
is neither, so running the recipe again resumes it from its `last.ckpt` and goes on from there.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..atomic import atomic_file
from ..graph import Graph
from .stages import pipeline_dir

MARKER = "finished.json"


@dataclass(frozen=True)
class Stage:
    name: str  # as in run_dir/<name>/ and the pipeline folder's <name>.safetensors
    train: Callable[[], Path]
    stateless: bool = False  # e.g. a prior with nothing to learn: finished without a weight file


def stages(graph: Graph) -> list[Stage]:
    """The graph's trainable stages, in the order each depends on the one before."""
    # Imported here: each pulls in Lightning, which is slow to import.
    from .clip import train_clip
    from .decoder import train_decoder
    from .prior import train_prior
    from .upsampler import train_upsampler

    from ..plugins import get_registry

    found = []
    if not get_registry().get("encoder", graph.encoder.type).is_pretrained(graph.encoder.config):
        found.append(Stage("encoder", lambda: train_clip(graph)))
    if graph.prior is not None:
        found.append(Stage("prior", lambda: train_prior(graph), stateless=_stateless_prior(graph)))
    if graph.decoder is not None:
        found.append(Stage("decoder", lambda: train_decoder(graph)))
    for i in range(len(graph.upsamplers)):
        found.append(Stage(f"upsampler_{i}", lambda i=i: train_upsampler(graph, i)))
    return found


def train_all(graph: Graph, log: Callable[[str], None] = print) -> Path:
    """Train every stage not yet finished; returns run_dir/pipeline, which then holds them all."""
    finished = read_marker(graph)
    for stage in stages(graph):
        if is_finished(graph, stage, finished):
            log(f"[{stage.name}] already trained in {graph.run_dir}; skipping")
            continue
        log(f"[{stage.name}] training")
        start = time.monotonic()
        stage.train()
        finished[stage.name] = {"seconds": round(time.monotonic() - start, 1), "finished_at": time.strftime("%Y-%m-%dT%H:%M:%S")}
        write_marker(graph, finished)
        log(f"[{stage.name}] done in {finished[stage.name]['seconds']:.0f}s")
    return pipeline_dir(graph)


def is_finished(graph: Graph, stage: Stage, finished: dict[str, dict]) -> bool:
    weights = pipeline_dir(graph) / f"{stage.name}.safetensors"
    return stage.name in finished and (stage.stateless or weights.is_file())


def read_marker(graph: Graph) -> dict[str, dict]:
    path = Path(graph.run_dir) / MARKER
    try:
        return dict(json.loads(path.read_text()))
    except (OSError, ValueError):  # absent or unreadable: nothing counts as finished
        return {}


def write_marker(graph: Graph, finished: dict[str, dict]) -> None:
    """Atomically: a crash while writing never marks a stage finished by accident."""
    run_dir = Path(graph.run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    with atomic_file(run_dir / MARKER) as temporary:
        temporary.write_text(json.dumps(finished, indent=2))


def _stateless_prior(graph: Graph) -> bool:
    from ..plugins import get_registry

    return not get_registry().get("prior", graph.prior.type).trainable
