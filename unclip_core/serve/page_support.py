"""What every tab of the page shares: running a request from widget values, the seed widgets,
and turning errors into a readable message in the page (never a stack trace)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import gradio as gr
import yaml

from ..errors import UnclipError
from .operations import Operations
from .requests import STAGES, OperationRequest, parse_request
from .result import Result
from .result_store import ResultStore

log = logging.getLogger("unclip.serve")
MODEL_DEFAULT = "model's own"  # sampler choice that keeps the model's configured sampler


@dataclass
class PageContext:
    operations: Operations
    store: ResultStore

    @property
    def model_names(self) -> list[str]:
        return self.operations.pool.names

    def run(self, cls: type[OperationRequest], values: dict[str, Any], progress: gr.Progress | None = None) -> tuple[Result, list[str], str | None]:
        """(result, PNG paths, GIF path) for the request the widgets describe; gr.Error for bad input."""
        try:
            request = parse_request(cls, values)
            report = None
            if progress is not None:
                report = lambda stage, done, total: progress((done, total), desc=stage)  # noqa: E731
            result = self.operations.run(request, report)
        except UnclipError as exc:
            raise gr.Error(str(exc), print_exception=False) from None
        except Exception as exc:  # shown in the page as one line; the server goes on
            log.exception("%s failed", cls.operation)
            raise gr.Error(f"{cls.operation} failed: {type(exc).__name__}: {exc}", print_exception=False) from None
        pngs, gif = self.store.save(result)
        return result, pngs, gif


def model_picker(context: PageContext, elem_id: str) -> gr.Dropdown:
    return gr.Dropdown(context.model_names, value=context.operations.pool.default, label="model", elem_id=elem_id)


def seed_widgets(prefix: str) -> tuple[gr.Number, gr.Checkbox]:
    """A seed box and a randomize box; the seed a request used is written back into the box."""
    with gr.Row():
        seed = gr.Number(0, label="seed", precision=0, elem_id=f"{prefix}-seed")
        randomize = gr.Checkbox(False, label="randomize seed", elem_id=f"{prefix}-randomize")
    return seed, randomize


def chosen_seed(seed: float | None, randomize: bool) -> int | None:
    """None asks the server for a random seed."""
    return None if randomize or seed is None else int(seed)


def stage_settings_widgets(prefix: str) -> list[gr.Textbox]:
    """A closed accordion with a sampling-settings box for each stage (prior, decoder, upsampler),
    for the editing tabs; blank boxes keep the model's own settings."""
    with gr.Accordion("stages: sampling settings", open=False, elem_id=f"{prefix}-stage-settings"), gr.Row():
        return [
            gr.Textbox(label=f"{stage} settings", lines=1, elem_id=f"{prefix}-{stage}-settings",
                       placeholder="the model's; 'name: value' lines")
            for stage in STAGES
        ]


def ddim_steps_box(prefix: str) -> gr.Textbox:
    """The DDIM step count of a tab whose operation inverts its image; blank: the operation's own."""
    return gr.Textbox(label="DDIM steps (more: more faithful, slower)", placeholder="the operation's",
                      elem_id=f"{prefix}-ddim-steps")


def stage_settings_values(*texts: str | None) -> dict[str, dict[str, Any] | None]:
    """The request's `*_options` from the stages' settings boxes, in STAGES order."""
    return {f"{stage}_options": optional_settings(text, f"{stage} settings") for stage, text in zip(STAGES, texts)}


def optional_settings(text: str | None, label: str) -> dict[str, Any] | None:
    """Sampling settings typed as `name: value` lines (YAML); blank means the model's own.

    Only the form is checked here; the pipeline checks the names and values, as for the API.
    """
    text = (text or "").strip()
    if not text:
        return None
    try:
        settings = yaml.safe_load(text)
    except yaml.YAMLError:
        settings = None
    if not isinstance(settings, dict) or not all(isinstance(key, str) for key in settings):
        raise gr.Error(f"{label}: type one 'name: value' line a setting (e.g. 'guidance_scale: 2'), or leave it blank",
                       print_exception=False)
    return settings


def optional_number(text: str | None, label: str, kind: type = float) -> float | int | None:
    """An optional number typed in a text box: blank means 'the model's own value'.

    Text boxes rather than number boxes, because a number box cannot be blank: it would send 0,
    which is a real guidance scale and a wrong step count.
    """
    text = (text or "").strip()
    if not text:
        return None
    try:
        return kind(text)
    except ValueError:
        expected = "a whole number" if kind is int else "a number"
        raise gr.Error(f"{label}: '{text}' is not {expected}; type {expected} or leave it blank", print_exception=False) from None


def picked_image(paths: list[str] | None, index: int | None) -> str:
    """The gallery image to send on: the selected one, else the first."""
    if not paths:
        raise gr.Error("there is no image to send yet; make one first", print_exception=False)
    return paths[index if index is not None and index < len(paths) else 0]
