"""Per-call sampling options for a pipeline's stages: which sampler, how many steps, any of a
component's sampling settings, progress.

Nothing here changes a component: a call's sampler is a new object handed to the stage's
`sample(..., sampler=)`, and a call's settings go to a copy of the component that shares its
weights, so concurrent calls on one loaded pipeline each get what they asked for.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, TypeVar, Union

from torch import Tensor
from tqdm.auto import tqdm

from .errors import InputError
from .interfaces import Sampler, StepCallback
from .limits import STEPS

# A sampler for one call: a built Sampler, a graph section ({type: ..., steps: ...}) or a type name.
SamplerChoice = Union[Sampler, Mapping[str, Any], str, None]
# callback(stage, step_index, x_t, predicted_x0): the pipeline-level view of every stage's steps.
PipelineCallback = Callable[[str, int, Tensor, Tensor], None]
# Some of a component's `sampling_fields` for one call: setting name -> value.
SamplingSettings = Union[Mapping[str, Any], None]
C = TypeVar("C")


def component_for_call(path: str, component: C, settings: SamplingSettings) -> C:
    """`component` sampling with `settings` for one call, or the component itself when none.

    Only the fields its class lists in `sampling_fields` may change (they never touch weights),
    and the result is validated as the graph would validate it. The copy is shallow: it shares
    every weight, buffer and submodule, and only its `config` is its own, which works because a
    component reads its sampling fields from `self.config` when it samples. `path` names the
    stage in messages as the graph does (decoder, upsamplers.0).
    """
    if not settings:
        return component
    if not isinstance(settings, Mapping):
        raise InputError(f"{path} options must be a mapping of setting to value, got {settings!r}")
    allowed = sorted(type(component).sampling_fields)
    for key in settings:
        if key not in allowed:
            choices = ", ".join(allowed) if allowed else "none"
            raise InputError(f"'{key}' is not a sampling setting of the {path} ({component.name}); its sampling settings: {choices}")
    from .graph import validate_model

    config = validate_model(type(component).Config, {**component.config.model_dump(), **settings}, path)
    twin = copy.copy(component)
    twin.config = config
    return twin


def stage_description(component: Any) -> dict[str, Any]:
    """What a call may change on one stage, as JSON: its type, its configured sampler and the
    current values of its sampling settings (the keys `*_options` accepts)."""
    sampler = component.sampler  # every prior, decoder and upsampler has one (None: not by diffusion)
    values = component.config.model_dump(mode="json")
    return {
        "type": component.name,
        "sampler": None if sampler is None else {"type": sampler.name, **sampler.config.model_dump(mode="json")},
        "sampling_settings": {name: values[name] for name in sorted(type(component).sampling_fields)},
    }


def sampler_for_call(stage: str, configured: Sampler | None, choice: SamplerChoice, steps: int | None) -> Sampler | None:
    """The sampler `stage` uses for one call, or None to keep its configured one.

    A type name or section without `steps` keeps the configured sampler's step count; `steps`
    then sets the count of whichever sampler results.
    """
    if choice is None and steps is None:
        return None
    if configured is None:
        raise InputError(f"the {stage} of this pipeline does not sample by diffusion, so its sampler and steps cannot be set")
    STEPS.check(f"{stage} steps", steps)
    sampler = configured if choice is None else _build(stage, choice, configured.steps)
    if steps is not None and steps != sampler.steps:
        sampler = type(sampler)(type(sampler).Config.model_validate({**sampler.config.model_dump(), "steps": steps}))
    return sampler


def _build(stage: str, choice: SamplerChoice, default_steps: int) -> Sampler:
    if isinstance(choice, Sampler):
        return choice
    section = {"type": choice} if isinstance(choice, str) else dict(choice)  # type: ignore[arg-type]
    section.setdefault("steps", default_steps)
    from .graph import build_section

    return build_section(f"{stage}.sampler", "sampler", section)


@contextmanager
def stage_callback(
    stage: str, sampler: Sampler | None, progress: bool, callback: PipelineCallback | None
) -> Iterator[StepCallback | None]:
    """The per-evaluation callback for one stage: a tqdm bar sized by the sampler's evaluations,
    and the caller's `callback` told which stage is reporting. None when nothing listens."""
    if sampler is None or (not progress and callback is None):
        yield None
        return
    with tqdm(total=sampler.evaluations, desc=stage, unit="step", leave=False, disable=not progress) as bar:

        def report(i: int, x_t: Tensor, x0: Tensor) -> None:
            bar.update(1)
            if callback is not None:
                callback(stage, i, x_t, x0)

        yield report
