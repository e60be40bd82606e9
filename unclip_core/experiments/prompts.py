"""The prompts of an experiment: a list, a text file, or a data set split with its true images."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor

from ..errors import ConfigError
from ..graph import Graph, build_node, validate_node
from ..registry import Registry

# `emoji:val`, `shapes:train`: a registered data source and one of its splits.
SPLIT_PATTERN = re.compile(r"^(?P<source>[A-Za-z_][\w-]*):(?P<split>train|val)$")


@dataclass(frozen=True)
class PromptSet:
    """Prompts, and when they come from a data set, each prompt's true image (3, S, S) in [-1, 1]."""

    prompts: list[str]
    references: Tensor | None = None

    def __post_init__(self) -> None:
        if not self.prompts:
            raise ConfigError("prompts: no prompts to generate from; list some, or name a non-empty file or split")


def load_prompts(spec: list[str] | str, base: Graph, registry: Registry, limit: int | None = None) -> PromptSet:
    """`limit` keeps the first N prompts (of each split, when `spec` lists several)."""
    if isinstance(spec, list):
        splits = [SPLIT_PATTERN.match(item) for item in spec]
        if not any(splits):
            return PromptSet(list(spec[:limit]))
        if not all(splits):
            raise ConfigError(
                "prompts: a list is either prompts or data set splits (shapes:train, shapes:val), not both; "
                "put plain prompts in a file of their own experiment"
            )
        parts = [split_prompts(m["source"], m["split"], base, registry, limit) for m in splits]
        return PromptSet([p for part in parts for p in part.prompts], torch.cat([part.references for part in parts]))
    match = SPLIT_PATTERN.match(spec)
    if match and not Path(spec).is_file():
        return split_prompts(match["source"], match["split"], base, registry, limit)
    path = Path(spec)
    if not path.is_file():
        raise ConfigError(
            f"prompts: '{spec}' is neither a file nor a data set split; give a text file (one prompt a line), "
            f"a list, or SOURCE:SPLIT with SOURCE one of {', '.join(registry.names('dataset'))} and SPLIT train or val"
        )
    lines = [line.strip() for line in path.read_text().splitlines()]
    return PromptSet([line for line in lines if line and not line.startswith("#")][:limit])


def split_prompts(source: str, split: str, base: Graph, registry: Registry, limit: int | None) -> PromptSet:
    """Captions and images of a split. The base graph's own `data:` settings are used when it
    names the same source (so true images match what the model was trained on)."""
    if source not in registry.names("dataset"):
        raise ConfigError(f"prompts: unknown data source '{source}'; registered: {', '.join(registry.names('dataset'))}")
    node = base.data if base.data is not None and base.data.type == source else validate_node("data", "dataset", {"type": source}, registry)
    data = build_node(node, registry)
    items = data.val_set() if split == "val" else data.train_set()
    count = len(items) if limit is None else min(limit, len(items))
    pairs = [items[i] for i in range(count)]
    return PromptSet([p["caption"] for p in pairs], torch.stack([p["image"] for p in pairs]) if pairs else None)
