"""The Interpolate tab: frames between two images or two prompts, as a strip and a looping GIF."""

from __future__ import annotations

import gradio as gr
from PIL import Image

from ..image_output import grid
from .page_support import (
    PageContext, chosen_seed, ddim_steps_box, model_picker, optional_number, seed_widgets, stage_settings_values,
    stage_settings_widgets,
)
from .requests import MAX_FRAMES, InterpolateRequest

BETWEEN_IMAGES, BETWEEN_PROMPTS = "two images", "two prompts"


def build_interpolate_tab(context: PageContext) -> tuple[gr.Image, gr.Image]:
    """Builds the tab; returns its two image inputs (A and B), which the gallery can fill."""
    with gr.Row():
        with gr.Column():
            between = gr.Radio([BETWEEN_IMAGES, BETWEEN_PROMPTS], value=BETWEEN_IMAGES, label="between",
                               elem_id="interpolate-between")
            with gr.Row():
                image_a = gr.Image(type="pil", label="image A", elem_id="interpolate-image-a")
                image_b = gr.Image(type="pil", label="image B", elem_id="interpolate-image-b")
            with gr.Row():
                prompt_a = gr.Textbox(label="prompt A", elem_id="interpolate-prompt-a")
                prompt_b = gr.Textbox(label="prompt B", elem_id="interpolate-prompt-b")
            model = model_picker(context, "interpolate-model")
            with gr.Row():
                frames = gr.Slider(2, MAX_FRAMES, value=8, step=1, label="frames", elem_id="interpolate-frames")
                latent = gr.Radio(["inverted", "fixed"], value="inverted", elem_id="interpolate-latent",
                                  label="noise: both images' inverted noise, or one fixed noise")
            seed, randomize = seed_widgets("interpolate")
            ddim_steps = ddim_steps_box("interpolate")
            settings = stage_settings_widgets("interpolate")
            button = gr.Button("Interpolate", variant="primary", elem_id="interpolate-button")
        with gr.Column():
            strip = gr.Image(label="frames", type="pil", format="png", interactive=False, elem_id="interpolate-strip")
            frames_gallery = gr.Gallery(label="frames (PNG with settings)", columns=8, elem_id="interpolate-gallery",
                                        buttons=["download"], interactive=False)
            gif = gr.File(label="animated GIF", elem_id="interpolate-gif", interactive=False)

    def interpolate(mode, a, b, text_a, text_b, model_name, count, noise, seed_value, random_seed, steps,
                    *stage_settings):
        values = {"model": model_name, "frames": int(count), "latent": noise, "seed": chosen_seed(seed_value, random_seed),
                  "ddim_steps": optional_number(steps, "DDIM steps", int), **stage_settings_values(*stage_settings)}
        if mode == BETWEEN_IMAGES:
            if a is None or b is None:
                raise gr.Error("give both images A and B (or choose 'two prompts')", print_exception=False)
            values["images"] = (a, b)
        else:
            values["prompts"] = (text_a or "", text_b or "")
        result, pngs, gif_path = context.run(InterpolateRequest, values)
        return grid([Image.open(p) for p in pngs]), pngs, gif_path, result.settings["seed"]

    button.click(
        interpolate, [between, image_a, image_b, prompt_a, prompt_b, model, frames, latent, seed, randomize, ddim_steps,
         *settings],
        [strip, frames_gallery, gif, seed], api_visibility="private",
    )
    return image_a, image_b
