"""The Generate tab: prompts -> images, every stage's steps, guidance, sampler and sampling
settings chosen per request, per-stage progress, and a gallery whose images can be sent to the
editing tabs."""

from __future__ import annotations

from dataclasses import dataclass

import gradio as gr

from ..plugins import get_registry
from .page_support import (
    MODEL_DEFAULT, PageContext, chosen_seed, model_picker, optional_number, seed_widgets, stage_settings_values,
)
from .requests import MAX_IMAGES, GenerateRequest


@dataclass
class GenerateTab:
    gallery: gr.Gallery
    paths: gr.State  # the PNG paths the gallery shows, in order
    selected: gr.State  # index of the image the user clicked, if any
    send_buttons: dict[str, gr.Button]  # target tab id -> its "send to" button


def stage_widgets(
    stage: str, samplers: list[str], guidance: bool
) -> tuple[gr.Textbox, gr.Textbox | None, gr.Dropdown, gr.Textbox]:
    with gr.Row():
        steps = gr.Textbox(label=f"{stage} steps", placeholder="the model's", elem_id=f"{stage}-steps")
        scale = (
            gr.Textbox(label=f"{stage} guidance", placeholder="the model's", elem_id=f"{stage}-guidance")
            if guidance else None
        )
        sampler = gr.Dropdown([MODEL_DEFAULT, *samplers], value=MODEL_DEFAULT, label=f"{stage} sampler",
                              elem_id=f"{stage}-sampler")
        settings = gr.Textbox(label=f"{stage} settings", lines=1, elem_id=f"{stage}-settings",
                              placeholder="the model's; 'name: value' lines")
    return steps, scale, sampler, settings


def sampler_choice(value: str | None) -> str | None:
    return None if value in (None, "", MODEL_DEFAULT) else value


def build_generate_tab(context: PageContext, send_targets: dict[str, str]) -> GenerateTab:
    samplers = get_registry().names("sampler")
    with gr.Row():
        with gr.Column(scale=2):
            prompts = gr.Textbox(label="prompts (one per line)", lines=3, placeholder="red heart",
                                 elem_id="generate-prompts")
            with gr.Row():
                model = model_picker(context, "generate-model")
                num_images = gr.Slider(1, MAX_IMAGES, value=2, step=1, label="images per prompt",
                                       elem_id="generate-num-images")
            seed, randomize = seed_widgets("generate")
            with gr.Accordion("stages: steps, guidance, sampler, settings", open=False):
                prior_steps, prior_guidance, prior_sampler, prior_settings = stage_widgets("prior", samplers, guidance=True)
                decoder_steps, decoder_guidance, decoder_sampler, decoder_settings = stage_widgets(
                    "decoder", samplers, guidance=True
                )
                upsampler_steps, _, upsampler_sampler, upsampler_settings = stage_widgets("upsampler", samplers, guidance=False)
            button = gr.Button("Generate", variant="primary", elem_id="generate-button")
        with gr.Column(scale=3):
            gallery = gr.Gallery(label="results (PNG with settings)", columns=4, elem_id="generate-gallery",
                                 buttons=["download", "fullscreen"], interactive=False)
            with gr.Row():
                send_buttons = {
                    tab: gr.Button(f"Send to {label}", size="sm", elem_id=f"send-to-{tab}")
                    for tab, label in send_targets.items()
                }
            settings = gr.JSON(label="settings of these images", elem_id="generate-settings")
    paths = gr.State([])
    selected = gr.State(None)

    def generate(text, model_name, count, seed_value, random_seed, p_steps, p_guidance, p_sampler, p_settings,
                 d_steps, d_guidance, d_sampler, d_settings, u_steps, u_sampler, u_settings, progress=gr.Progress()):
        values = {
            "prompts": [line for line in (text or "").splitlines() if line.strip()] or [text or ""],
            "model": model_name, "num_images": int(count), "seed": chosen_seed(seed_value, random_seed),
            "prior_steps": optional_number(p_steps, "prior steps", int),
            "decoder_steps": optional_number(d_steps, "decoder steps", int),
            "upsampler_steps": optional_number(u_steps, "upsampler steps", int),
            "prior_guidance": optional_number(p_guidance, "prior guidance"),
            "decoder_guidance": optional_number(d_guidance, "decoder guidance"),
            "prior_sampler": sampler_choice(p_sampler), "decoder_sampler": sampler_choice(d_sampler),
            "upsampler_sampler": sampler_choice(u_sampler),
            **stage_settings_values(p_settings, d_settings, u_settings),
        }
        result, pngs, _ = context.run(GenerateRequest, values, progress)
        return pngs, pngs, None, result.settings, result.settings["seed"]

    button.click(
        generate,
        [prompts, model, num_images, seed, randomize, prior_steps, prior_guidance, prior_sampler, prior_settings,
         decoder_steps, decoder_guidance, decoder_sampler, decoder_settings, upsampler_steps, upsampler_sampler,
         upsampler_settings],
        [gallery, paths, selected, settings, seed],
        api_visibility="private",
    )

    def remember(event: gr.SelectData):
        return event.index

    gallery.select(remember, None, selected, api_visibility="private")
    return GenerateTab(gallery, paths, selected, send_buttons)
