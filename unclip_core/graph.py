"""YAML graph -> validated configs -> built components. The only place config becomes objects.

A graph names every component by its registry name (`type:`), never by import path, so a
config file cannot run code.
"""

from __future__ import annotations

import difflib
import inspect
import math
import re
import typing
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml
from omegaconf import OmegaConf
from omegaconf.errors import OmegaConfBaseException
from pydantic import BaseModel, ConfigDict, TypeAdapter, ValidationError

from .catalog import resolve_config_path
from .errors import ConfigError, InputError
from .interfaces import ComponentConfig, Decoder, Encoder, EncoderSpec, Prior, SamplingStage, Upsampler
from .registry import Registry
from .training.config import TrainingConfig

# Top-level sections: name -> component kind (None: not a component section).
SECTIONS: dict[str, str | None] = {
    "encoder": "encoder",
    "prior": "prior",
    "decoder": "decoder",
    "upsamplers": "upsampler",
    "data": "dataset",
    "trainer": None,
    "train": None,
    "seed": None,
    "run_dir": None,
}
# Config fields that must agree with what the encoder produces, when a component sets them.
# `image_size` is left out: a decoder's image_size is the size it generates, not the size the
# encoder's image tower takes (the paper decodes 64px images from a 224px CLIP).
SPEC_FIELDS = tuple(name for name in EncoderSpec.__dataclass_fields__ if name != "image_size")


@dataclass(frozen=True)
class Node:
    """One validated component section: its kind, registry type, config and nested components."""

    path: str
    kind: str
    type: str
    config: ComponentConfig
    nested: dict[str, Node] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": self.type, **self.config.model_dump(mode="json")}
        out.update({key: node.to_dict() for key, node in self.nested.items()})
        return out


@dataclass(frozen=True)
class Graph:
    """A fully validated graph. `to_yaml()` is the resolved form saved with pipelines."""

    encoder: Node
    prior: Node | None
    decoder: Node | None
    upsamplers: tuple[Node, ...]
    data: Node | None
    trainer: dict[str, Any]
    train: TrainingConfig
    seed: int
    run_dir: str

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"encoder": self.encoder.to_dict()}
        for key in ("prior", "decoder", "data"):
            node = getattr(self, key)
            if node is not None:
                out[key] = node.to_dict()
        out["upsamplers"] = [node.to_dict() for node in self.upsamplers]
        out["trainer"] = dict(self.trainer)
        out["train"] = self.train.model_dump(mode="json")
        out["seed"] = self.seed
        out["run_dir"] = self.run_dir
        return out

    def to_yaml(self) -> str:
        return OmegaConf.to_yaml(OmegaConf.create(self.to_dict()))


@dataclass
class Components:
    """Built components, ready to train or sample. Absent stages are None."""

    encoder: Encoder
    prior: Prior | None = None
    decoder: Decoder | None = None
    upsamplers: list[Upsampler] = field(default_factory=list)


def load_graph(
    path: str | Path, overrides: Sequence[str] = (), registry: Registry | None = None, *, check_trainer: bool = True
) -> Graph:
    """Read a YAML graph file, apply `key=value` overrides and validate it.

    `check_trainer=False` leaves the `trainer:` section unchecked: checking it imports Lightning,
    which only training needs (loading a pipeline to sample should not pay for it).
    """
    file = resolve_config_path(path)
    try:
        raw = OmegaConf.load(file)
    except (OmegaConfBaseException, yaml.YAMLError) as exc:
        raise ConfigError(f"{file} is not valid YAML: {_one_line(exc)}") from None
    return graph_from_dict(raw, overrides, registry, check_trainer=check_trainer)


def graph_from_dict(
    raw: Any, overrides: Sequence[str] = (), registry: Registry | None = None, *, check_trainer: bool = True
) -> Graph:
    if registry is None:
        from .plugins import get_registry

        registry = get_registry()
    cfg = OmegaConf.create(raw) if not OmegaConf.is_config(raw) else raw
    cfg = apply_overrides(cfg, overrides, registry)
    try:
        data = OmegaConf.to_container(cfg, resolve=True)
    except OmegaConfBaseException as exc:
        raise ConfigError(f"config interpolation failed: {exc}") from exc
    return validate_graph(data or {}, registry, check_trainer=check_trainer)


def apply_overrides(cfg: Any, overrides: Sequence[str], registry: Registry) -> Any:
    """`a.b=value` sets a key (values parse as YAML); changing a `type` drops keys the new type lacks."""
    retyped: list[str] = []
    for item in overrides:
        key, sep, text = item.partition("=")
        if not sep or not key:
            raise ConfigError(f"override '{item}' must look like key=value, e.g. decoder.sampler.steps=20")
        try:
            value = yaml.safe_load(text) if text else None
        except yaml.YAMLError as exc:
            raise ConfigError(f"override '{item}': value is not valid YAML ({_one_line(exc)}); quote it or fix it") from None
        _check_list_indices(cfg, key, item)
        try:
            OmegaConf.update(cfg, key, value, merge=True, force_add=True)
        except OmegaConfBaseException as exc:
            # OmegaConf appends full_key/object_type lines; the first line is the reason.
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ConfigError(f"override '{item}' cannot be applied: {reason}") from None
        if key.endswith(".type"):
            retyped.append(key.rsplit(".", 1)[0])
    given = {item.partition("=")[0] for item in overrides}
    for path in retyped:
        _drop_foreign_keys(cfg, path, given, registry)
    return cfg


def _check_list_indices(cfg: Any, key: str, item: str) -> None:
    """A numeric key part into a list must name an existing entry (a list does not grow by override)."""
    parts = key.split(".")
    for depth, part in enumerate(parts[1:], start=1):
        owner_key = ".".join(parts[:depth])
        owner = OmegaConf.select(cfg, owner_key, default=None)
        if not OmegaConf.is_list(owner):
            continue
        if not part.isdigit() or int(part) >= len(owner):
            valid = f"0 to {len(owner) - 1}" if len(owner) else "none: the list is empty"
            raise ConfigError(
                f"override '{item}': {owner_key} has {len(owner)} entr{'y' if len(owner) == 1 else 'ies'}, "
                f"so {owner_key}.{part} does not exist (indices: {valid}); set {owner_key}=[...] to change the list"
            )


def _drop_foreign_keys(cfg: Any, path: str, given: set[str], registry: Registry) -> None:
    """After `X.type=new`, keep only keys of X that `new` accepts (or that were overridden too)."""
    section = OmegaConf.select(cfg, path)
    kind = _kind_at(cfg, path, registry)
    if section is None or kind is None:
        return
    cls = registry.get(kind, str(section.get("type")))
    accepted = set(cls.Config.model_fields) | set(cls.nested) | {"type"}
    for key in list(section.keys()):
        if key not in accepted and f"{path}.{key}" not in given:
            del section[key]


def _kind_at(cfg: Any, path: str, registry: Registry) -> str | None:
    """The component kind of the section at `path`, following each class's declared `nested`."""
    parts = path.split(".")
    if parts[0] == "upsamplers":
        if len(parts) < 2 or not parts[1].isdigit():
            return None
        kind, consumed = "upsampler", 2
    else:
        kind, consumed = SECTIONS.get(parts[0]), 1
    for depth in range(consumed, len(parts)):
        owner = OmegaConf.select(cfg, ".".join(parts[:depth]))
        if kind is None or owner is None or "type" not in owner:
            return None
        try:
            cls = registry.get(kind, str(owner.get("type")))
        except ConfigError:
            return None
        kind = cls.nested.get(parts[depth])
    return kind


def validate_graph(data: Mapping[str, Any], registry: Registry, *, check_trainer: bool = True) -> Graph:
    if not isinstance(data, Mapping):
        raise ConfigError("a graph must be a YAML mapping with sections such as encoder:, prior:, decoder:")
    for key in data:
        if key not in SECTIONS:
            raise ConfigError(f"unknown top-level key '{key}'{_suggest(key, SECTIONS)}; sections: {', '.join(SECTIONS)}")
    if "encoder" not in data:
        raise ConfigError("the graph has no `encoder:` section; every pipeline starts with an encoder")
    upsamplers = data.get("upsamplers") or []
    if not isinstance(upsamplers, list):
        raise ConfigError("`upsamplers:` must be a list of upsampler sections (or empty)")
    graph = Graph(
        encoder=validate_node("encoder", "encoder", data["encoder"], registry),
        prior=_optional_node("prior", "prior", data, registry),
        decoder=_optional_node("decoder", "decoder", data, registry),
        upsamplers=tuple(
            validate_node(f"upsamplers.{i}", "upsampler", section, registry) for i, section in enumerate(upsamplers)
        ),
        data=_optional_node("data", "dataset", data, registry),
        trainer=validate_trainer(data.get("trainer") or {}) if check_trainer else dict(data.get("trainer") or {}),
        train=validate_model(TrainingConfig, data.get("train") or {}, "train"),
        seed=_seed(data.get("seed", 0)),
        run_dir=str(data.get("run_dir", "runs/default")),
    )
    check_sizes(graph)
    _check_upsampler_sections(graph)
    return graph


def _check_upsampler_sections(graph: Graph) -> None:
    """A `train.upsampler_<i>` section must name an upsampler the graph has."""
    count = len(graph.upsamplers)
    for key in graph.train.model_extra or {}:
        if int(key.removeprefix("upsampler_")) >= count:
            have = f"upsampler_0 to upsampler_{count - 1}" if count > 1 else "upsampler_0" if count else "none"
            raise ConfigError(
                f"train.{key}: the graph has {count} upsampler{'s' if count != 1 else ''} ({have}); "
                "name one of them, or set the shared train.upsampler"
            )


def _seed(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**64:
        raise ConfigError(f"seed: must be a whole number from 0 to 2^64-1, got {value!r}")
    return value


def _optional_node(key: str, kind: str, data: Mapping[str, Any], registry: Registry) -> Node | None:
    section = data.get(key)
    return None if section is None else validate_node(key, kind, section, registry)


def validate_node(path: str, kind: str, section: Any, registry: Registry) -> Node:
    if not isinstance(section, Mapping):
        raise ConfigError(f"{path}: expected a mapping with a `type:` key, got {section!r}")
    section = dict(section)
    type_name = section.pop("type", None)
    if type_name is None:
        raise ConfigError(f"{path}: missing `type:`; registered {kind} types: {', '.join(registry.names(kind)) or 'none'}")
    cls = registry.get(kind, str(type_name))
    nested = {}
    for key, nested_kind in cls.nested.items():
        if section.get(key) is None:
            raise ConfigError(
                f"{path}.{key}: {kind} '{type_name}' needs a `{key}:` section, e.g. {key}: {{type: ...}}; "
                f"registered {nested_kind} types: {', '.join(registry.names(nested_kind))}"
            )
        nested[key] = validate_node(f"{path}.{key}", nested_kind, section.pop(key), registry)
    config = validate_model(cls.Config, section, path)
    return Node(path, kind, str(type_name), config, nested)


def validate_model(model: type[BaseModel], values: Any, path: str) -> Any:
    """Validate with pydantic; turn the first error into one line naming the full key path.

    Numbers must also be finite: `.nan` or `.inf` pass pydantic's bounds checks (or fail them with
    a confusing message) and would otherwise reach sampling or training as silent NaNs.
    """
    try:
        validated = model.model_validate(values)
    except ValidationError as exc:
        error = exc.errors()[0]
        loc = [str(part) for part in error["loc"]]
        where = ".".join([path, *loc])
        if error["type"] == "extra_forbidden":
            owner = _model_at(model, loc[:-1])
            hint = _suggest(loc[-1], list(owner.model_fields) if owner else [])
            raise ConfigError(f"unknown key '{where}'{hint}") from None
        raise ConfigError(f"{where}: {error['msg']} (got {error.get('input')!r})") from None
    for where, number in _numbers(validated, path):
        if not math.isfinite(number):
            raise ConfigError(f"{where}: must be a finite number, got {number!r}; give a number such as 1.0")
    return validated


def _numbers(value: Any, path: str) -> Iterator[tuple[str, float]]:
    """(key path, value) of every float inside a validated config, nested models and lists included."""
    if isinstance(value, float):
        yield path, value
    elif isinstance(value, BaseModel):
        for name in type(value).model_fields:
            yield from _numbers(getattr(value, name), f"{path}.{name}")
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from _numbers(item, f"{path}.{key}")
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            yield from _numbers(item, f"{path}.{index}")


def validate_trainer(values: Mapping[str, Any]) -> dict[str, Any]:
    """The `trainer:` section holds lightning.Trainer keyword arguments; check their names, and
    their values against the Trainer's type hints (`max_steps=abc` would otherwise fail deep in
    Lightning with a comparison error)."""
    import lightning

    accepted = [name for name in inspect.signature(lightning.Trainer.__init__).parameters if name != "self"]
    try:
        hints = typing.get_type_hints(lightning.Trainer.__init__)
    except Exception:  # hints naming types not importable here: check names only
        hints = {}
    for key, value in values.items():
        if key not in accepted:
            raise ConfigError(f"unknown key 'trainer.{key}'{_suggest(key, accepted)} (lightning.Trainer takes no such argument)")
        if key in hints and value not in _RESOLVED_BEFORE_TRAINER.get(key, ()) and not _fits_hint(value, hints[key]):
            kind = re.sub(r"typing\.|<class '([^']*)'>", r"\1", str(hints[key]))
            raise ConfigError(f"trainer.{key}: lightning.Trainer takes {kind}, got {value!r}")
    return dict(values)


# `trainer:` values that training resolves before they reach lightning.Trainer (training/trainer.py).
_RESOLVED_BEFORE_TRAINER: dict[str, tuple[Any, ...]] = {"precision": ("auto",), "logger": ("csv", "tensorboard")}


def _fits_hint(value: Any, hint: Any) -> bool:
    """Whether pydantic accepts `value` as `hint`; True for hints pydantic cannot express."""
    try:
        adapter = TypeAdapter(hint, config=ConfigDict(arbitrary_types_allowed=True))
    except Exception:  # such a key is checked by name only
        return True
    try:
        adapter.validate_python(value)
    except ValidationError:
        return False
    return True


def check_sizes(graph: Graph) -> None:
    """Each upsampler must start at the size the stage before it ends at."""
    if graph.decoder is None:
        return
    size, source = getattr(graph.decoder.config, "image_size", None), f"decoder '{graph.decoder.type}'"
    for node in graph.upsamplers:
        start = getattr(node.config, "from_size", None)
        if size is not None and start is not None and start != size:
            raise ConfigError(
                f"{source} outputs {size}px images but {node.path} '{node.type}' has from_size={start}; "
                f"set {node.path}.from_size={size}"
            )
        size, source = getattr(node.config, "to_size", None), f"{node.path} '{node.type}'"


def check_dimensions(node: Node, spec: EncoderSpec, encoder_type: str) -> None:
    """A component that states a dimension (embed_dim, text_width, ...) must match the encoder."""
    for name in SPEC_FIELDS:
        stated = getattr(node.config, name, None)
        actual = getattr(spec, name)
        if stated is not None and stated != actual:
            raise ConfigError(
                f"dimension clash: encoder '{encoder_type}' produces {name}={actual} but {node.path} "
                f"'{node.type}' is configured with {name}={stated}; set {node.path}.{name}={actual} or null"
            )


def build(graph: Graph, registry: Registry | None = None) -> Components:
    """Build every component of the graph in dependency order."""
    if registry is None:
        from .plugins import get_registry

        registry = get_registry()
    encoder = build_node(graph.encoder, registry)
    components = Components(encoder=encoder)
    spec = encoder.spec
    if graph.prior is not None:
        check_dimensions(graph.prior, spec, graph.encoder.type)
        components.prior = build_node(graph.prior, registry, spec=spec)
    if graph.decoder is not None:
        check_dimensions(graph.decoder, spec, graph.encoder.type)
        components.decoder = build_node(graph.decoder, registry, spec=spec)
    components.upsamplers = [build_node(node, registry) for node in graph.upsamplers]
    return components


def check_buildable(graph: Graph, registry: Registry | None = None) -> None:
    """Run every check that building runs (dimension clashes with the encoder, steps beyond a
    schedule, ...) without loading weight files and, past the encoder, without allocating weights.

    The encoder is built for real (randomly initialized) because the other stages check against
    its spec; the other stages are built on PyTorch's meta device, where tensors have shapes
    but no storage.
    """
    import torch

    if registry is None:
        from .plugins import get_registry

        registry = get_registry()
    encoder_cls = registry.get("encoder", graph.encoder.type)
    bare = replace(graph.encoder, config=encoder_cls.config_for_saved_weights(graph.encoder.config))
    spec = build_node(bare, registry).spec
    with torch.device("meta"):
        for node in (graph.prior, graph.decoder):
            if node is not None:
                check_dimensions(node, spec, graph.encoder.type)
                build_node(node, registry, spec=spec)
        for node in graph.upsamplers:
            build_node(node, registry)


def build_section(path: str, kind: str, section: Any, registry: Registry | None = None, **dependencies: Any) -> Any:
    """Validate one YAML-like section outside a graph (errors name `path`) and build it."""
    if registry is None:
        from .plugins import get_registry

        registry = get_registry()
    return build_node(validate_node(path, kind, section, registry), registry, **dependencies)


def build_node(node: Node, registry: Registry, **dependencies: Any) -> Any:
    """Instantiate one component: nested components first, then the component itself."""
    cls = registry.get(node.kind, node.type)
    nested = {key: build_node(child, registry) for key, child in node.nested.items()}
    component = cls(node.config, **dependencies, **nested)
    if isinstance(component, SamplingStage) and component.sampler is not None:
        # A sampler the stage cannot run (more steps than its schedule leaves) is a graph error
        # found at load, not after the stages before it have sampled.
        try:
            component.check_sampler(component.sampler)
        except InputError as exc:
            raise ConfigError(f"{node.path}: {exc}") from None
    return component


def _model_at(model: type[BaseModel], loc: list[str]) -> type[BaseModel] | None:
    """The pydantic model a nested error location points into (for key suggestions)."""
    current: Any = model
    for part in loc:
        if not (isinstance(current, type) and issubclass(current, BaseModel)):
            return None
        if part not in current.model_fields:
            # Keys a model allows beyond its fields (train.upsampler_<i>) name the model they hold.
            current = getattr(current, "extra_sections", None)
            continue
        current = current.model_fields[part].annotation
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def _one_line(exc: Exception) -> str:
    """Parser errors span lines (with a caret under the column); the CLI reports one line."""
    return " ".join(str(exc).replace("^", " ").split())


def _suggest(key: str, options: Any) -> str:
    close = difflib.get_close_matches(str(key), list(options), n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""
