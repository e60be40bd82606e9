"""`unclip train all`: every stage of a graph in order, skipping the ones a run already finished.

Order: clip (the encoder), prior, decoder, then each upsampler. A stage counts as finished when
run_dir/finished.json names it *and* its weights are in run_dir/pipeline; an interrupted stage
is neither, so running the recipe again resumes it from its `last.ckpt` and goes on from there.
finished.json also records what each stage learned with (its section, less sampling settings,
and its `train.<stage>` settings): a finished stage asked for with other settings is refused,
never silently kept.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from typing import Any

from ..atomic import atomic_file
from ..errors import ConfigError
from ..graph import Graph, Node
from .distributed import is_main_process, main_process_writes
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
    if not is_main_process():  # the other ranks of a multi-process run train quietly
        log = lambda message: None  # noqa: E731
    finished = read_marker(graph)
    for stage in stages(graph):
        if is_finished(graph, stage, finished):
            check_unchanged(graph, stage.name, finished[stage.name])
            log(f"[{stage.name}] already trained in {graph.run_dir}; skipping")
            continue
        log(f"[{stage.name}] training")
        start = time.monotonic()
        stage.train()
        finished[stage.name] = {"seconds": round(time.monotonic() - start, 1), "finished_at": time.strftime("%Y-%m-%dT%H:%M:%S"),
                                "settings": learned_settings(graph, stage.name)}
        write_marker(graph, finished)
        log(f"[{stage.name}] done in {finished[stage.name]['seconds']:.0f}s")
    return pipeline_dir(graph)


def is_finished(graph: Graph, stage: Stage, finished: dict[str, dict]) -> bool:
    weights = pipeline_dir(graph) / f"{stage.name}.safetensors"
    return stage.name in finished and (stage.stateless or weights.is_file())


def check_unchanged(graph: Graph, name: str, entry: dict[str, Any]) -> None:
    """Refuse to skip a finished stage the graph now asks for with other learned settings."""
    recorded = entry.get("settings")
    if recorded is None:  # finished before settings were recorded: nothing to compare with
        return
    wanted = learned_settings(graph, name)
    if recorded == wanted:
        return
    key, old, new = _first_difference(recorded, wanted)
    # As the user writes it: prior.width, upsamplers.0.channels, train.prior.lr.
    part, _, rest = key.partition(".")
    where = f"train.{graph.train.section_of(name)}" if part == "train" else name.replace("upsampler_", "upsamplers.")
    key = f"{where}.{rest}" if rest else where
    raise ConfigError(
        f"{name} in {graph.run_dir} finished with {key}={json.dumps(old)}, and this graph asks for {key}={json.dumps(new)}; "
        f"a finished stage is never trained again: use a new run_dir, or delete {Path(graph.run_dir) / name} and "
        f"the '{name}' entry of {Path(graph.run_dir) / MARKER} to retrain it"
    )


# train.<stage> settings that change how a run is kept or computed, not what it learns.
BOOKKEEPING = frozenset({"checkpoint_every_n_steps", "checkpoint_every_minutes", "compile", "feed", "activation_checkpointing"})


def learned_settings(graph: Graph, name: str) -> dict[str, Any]:
    """What stage `name`'s weights depend on in the graph: its section less nested samplers and
    sampling fields (guidance, draws per prompt), and its `train.<stage>` settings less
    bookkeeping. JSON values."""
    train = graph.train.for_stage(name).model_dump(mode="json")
    return {"section": learned(stage_node(graph, name)), "train": {k: v for k, v in train.items() if k not in BOOKKEEPING}}


def learned(node: Node | None) -> dict[str, Any] | None:
    """A section's type and every config field that shapes its weights."""
    if node is None:
        return None
    from ..plugins import get_registry

    cls = get_registry().get(node.kind, node.type)
    config = {key: value for key, value in node.config.model_dump(mode="json").items() if key not in cls.sampling_fields}
    return json.loads(json.dumps({"type": node.type, **config}))


def stage_node(graph: Graph, name: str) -> Node | None:
    if name.startswith("upsampler_"):
        index = int(name.removeprefix("upsampler_"))
        return graph.upsamplers[index] if index < len(graph.upsamplers) else None
    return getattr(graph, name)


def _first_difference(old: Any, new: Any, path: str = "") -> tuple[str, Any, Any]:
    """The dotted key of the first value that differs between two JSON-like values."""
    if isinstance(old, dict) and isinstance(new, dict):
        for key in [*old, *(k for k in new if k not in old)]:
            if old.get(key) != new.get(key):
                return _first_difference(old.get(key), new.get(key), f"{path}.{key}" if path else key)
    return path, old, new


def read_marker(graph: Graph) -> dict[str, dict]:
    path = Path(graph.run_dir) / MARKER
    try:
        return dict(json.loads(path.read_text()))
    except (OSError, ValueError):  # absent or unreadable: nothing counts as finished
        return {}


def write_marker(graph: Graph, finished: dict[str, dict]) -> None:
    """Atomically: a crash while writing never marks a stage finished by accident."""
    run_dir = Path(graph.run_dir)

    def write() -> None:
        run_dir.mkdir(parents=True, exist_ok=True)
        with atomic_file(run_dir / MARKER) as temporary:
            temporary.write_text(json.dumps(finished, indent=2))

    main_process_writes(write)


def _stateless_prior(graph: Graph) -> bool:
    from ..plugins import get_registry

    return not get_registry().get("prior", graph.prior.type).trainable
