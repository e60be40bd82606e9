"""registry.yaml: the built-in plugins to load and the named model pipelines."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from omegaconf import OmegaConf

from .errors import ConfigError


@dataclass(frozen=True)
class CatalogModel:
    name: str
    folder: Path
    sha256: dict[str, str] = field(default_factory=dict)
    base: str | None = None  # a registered model whose files this one uses where its folder has none


@dataclass(frozen=True)
class Catalog:
    path: Path
    plugins: dict[str, str]  # plugin name -> module
    models: dict[str, CatalogModel]
    default_model: str | None


def catalog_path() -> Path:
    """UNCLIP_REGISTRY, else the source checkout's registry.yaml, else the installed copy."""
    if env := os.environ.get("UNCLIP_REGISTRY"):
        return Path(env)
    source = Path(__file__).resolve().parent.parent / "registry.yaml"
    if source.is_file():
        return source
    return Path(sys.prefix) / "share" / "unclip" / "registry.yaml"


@cache
def load_catalog(path: Path | None = None) -> Catalog:
    path = path or catalog_path()
    if not path.is_file():
        raise ConfigError(f"registry file {path} not found; reinstall unclip or set UNCLIP_REGISTRY")
    raw = OmegaConf.to_container(OmegaConf.load(path), resolve=True) or {}
    base = path.parent
    models = {
        name: CatalogModel(name, base / spec["folder"], dict(spec.get("sha256") or {}), spec.get("base"))
        for name, spec in (raw.get("models") or {}).items()
    }
    for name in models:
        base_chain(models, name, path)  # refuse an unknown base or a loop now, not at load time
    return Catalog(path, dict(raw.get("plugins") or {}), models, raw.get("default_model"))


def base_chain(models: dict[str, CatalogModel], name: str, path: Path) -> list[CatalogModel]:
    """The model, then its base, then that one's base, and so on."""
    chain = [models[name]]
    while (base := chain[-1].base) is not None:
        if base not in models:
            raise ConfigError(
                f"{path}: model '{chain[-1].name}' names base '{base}', which is not a model of this file; "
                f"use one of: {', '.join(sorted(models))}"
            )
        if any(model.name == base for model in chain):
            raise ConfigError(f"{path}: models {' -> '.join([*(m.name for m in chain), base])} are each other's base; break the loop")
        chain.append(models[base])
    return chain


def resolve_config_path(path: str | Path) -> Path:
    """A graph file path as given, else relative to the shipped configs folder."""
    given = Path(path)
    if given.is_file():
        return given
    shipped = catalog_path().parent / "configs" / given
    if shipped.is_file():
        return shipped
    raise ConfigError(f"config file '{path}' not found (looked here and in {shipped.parent})")
