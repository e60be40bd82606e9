"""Saving and loading pipeline folders: pipeline.yaml + <component>.safetensors + checksums.json.

Nothing here unpickles. Folders are written next to their destination and renamed into
place, so a crash never leaves a half-written pipeline behind.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from torch import nn

from .atomic import atomic_folder
from .errors import WeightsError
from .finite import require_finite_tensors

GRAPH_FILE = "pipeline.yaml"
CHECKSUM_FILE = "checksums.json"
FORMAT = "unclip.pipeline/1"


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def save_folder(
    folder: str | Path,
    graph_yaml: str,
    modules: Mapping[str, nn.Module],
    dtype: torch.dtype | None = None,
) -> Path:
    """Write a pipeline folder atomically; `modules` maps file stem -> module ("prior", ...).

    `dtype` (e.g. torch.float16) casts floating tensors for smaller files.
    """
    folder = Path(folder)
    with atomic_folder(folder) as staging:
        (staging / GRAPH_FILE).write_text(graph_yaml)
        for stem, module in modules.items():
            tensors = state_tensors(module, dtype)
            # Raising here discards the staging folder: broken weights never replace a saved pipeline.
            require_finite_tensors(
                tensors, f"the {stem} was not saved",
                "its training diverged (lower the learning rate) or its values overflow the chosen dtype",
            )
            save_file(tensors, staging / f"{stem}.safetensors", metadata={"format": FORMAT, "component": stem})
        sums = {p.name: sha256_of(p) for p in sorted(staging.iterdir())}
        (staging / CHECKSUM_FILE).write_text(json.dumps(sums, indent=2) + "\n")
    return folder


def state_tensors(module: nn.Module, dtype: torch.dtype | None = None) -> dict[str, torch.Tensor]:
    """A module's state as independent contiguous CPU tensors (tied weights are stored twice)."""
    out = {}
    for key, value in module.state_dict().items():
        value = value.detach().to("cpu")
        if dtype is not None and value.is_floating_point():
            value = value.to(dtype)
        out[key] = value.contiguous().clone()
    return out


def verify_folder(folder: str | Path, expected: Mapping[str, str] | None = None) -> dict[str, str]:
    """Check every file against checksums.json (and `expected`, e.g. from registry.yaml)."""
    folder = Path(folder)
    if not (folder / CHECKSUM_FILE).is_file():
        raise WeightsError(f"{folder} is not a pipeline folder: {CHECKSUM_FILE} is missing")
    try:
        sums = json.loads((folder / CHECKSUM_FILE).read_text())
    except json.JSONDecodeError as exc:
        raise WeightsError(f"{folder / CHECKSUM_FILE} is corrupt ({exc}); save the pipeline again") from exc
    for name, digest in {**sums, **(expected or {})}.items():
        path = folder / name
        if not path.is_file():
            raise WeightsError(f"{path} is missing; copy the whole pipeline folder again")
        actual = sha256_of(path)
        if actual != digest:
            raise WeightsError(
                f"{path} does not match its sha256 ({actual[:12]}... != {digest[:12]}...): the file is "
                "corrupt or was changed after saving; copy or save the pipeline again"
            )
    return sums


def load_module(module: nn.Module, path: str | Path) -> None:
    """Load a .safetensors file into `module`, naming any tensor that does not fit."""
    path = Path(path)
    try:
        tensors = load_file(path, device="cpu")
    except (SafetensorError, OSError) as exc:
        raise WeightsError(f"{path} is not a readable safetensors file ({exc})") from exc
    expected = module.state_dict()
    missing = sorted(set(expected) - set(tensors))
    unexpected = sorted(set(tensors) - set(expected))
    if missing or unexpected:
        raise WeightsError(
            f"{path} does not fit its component: "
            + "; ".join(
                part
                for part in (
                    f"missing tensors {_few(missing)}" if missing else "",
                    f"unexpected tensors {_few(unexpected)}" if unexpected else "",
                )
                if part
            )
            + ". The config that built the component differs from the one the weights were saved with."
        )
    for key, value in tensors.items():
        if value.shape != expected[key].shape:
            raise WeightsError(
                f"{path}: tensor '{key}' has shape {tuple(value.shape)} in the file but "
                f"{tuple(expected[key].shape)} in the model; build the component with the config it was saved with"
            )
    require_finite_tensors(tensors, str(path), "the weights are broken: train the component again")
    module.load_state_dict({k: v.to(expected[k].dtype) for k, v in tensors.items()})


def _few(names: list[str], limit: int = 5) -> str:
    shown = ", ".join(f"'{n}'" for n in names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")
