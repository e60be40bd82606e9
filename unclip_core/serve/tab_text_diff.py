"""The Text diff tab: move an image along the direction from one caption to another."""

from __future__ import annotations

import gradio as gr

from .page_support import (
    PageContext, chosen_seed, ddim_steps_box, model_picker, optional_number, seed_widgets, stage_settings_values,
    stage_settings_widgets,
)
from .requests import MAX_FRAMES, TextDiffRequest


def build_text_diff_tab(context: PageContext) -> gr.Image:
    """Builds the tab; returns its image input, which the gallery can fill."""
    with gr.Row():
        with gr.Column():
            image = gr.Image(type="pil", label="image", elem_id="textdiff-image")
            with gr.Row():
                source = gr.Textbox(label="from: what the image shows", elem_id="textdiff-from")
                target = gr.Textbox(label="to: what it should show", elem_id="textdiff-to")
            model = model_picker(context, "textdiff-model")
            with gr.Row():
                steps = gr.Slider(2, MAX_FRAMES, value=5, step=1, label="frames", elem_id="textdiff-frames")
                strength = gr.Slider(0.05, 1.0, value=0.5, step=0.05, label="strength of the last frame",
                                     elem_id="textdiff-strength")
            seed, randomize = seed_widgets("textdiff")
            ddim_steps = ddim_steps_box("textdiff")
            settings = stage_settings_widgets("textdiff")
            button = gr.Button("Apply text diff", variant="primary", elem_id="textdiff-button")
        with gr.Column():
            gallery = gr.Gallery(label="frames (PNG with settings)", columns=5, elem_id="textdiff-gallery",
                                 buttons=["download"], interactive=False)
            gif = gr.File(label="animated GIF", elem_id="textdiff-gif", interactive=False)

    def text_diff(picture, source_text, target_text, model_name, count, theta, seed_value, random_seed, steps,
                  *stage_settings):
        if picture is None:
            raise gr.Error("no image: upload one, or send one from the Generate tab", print_exception=False)
        values = {"image": picture, "source": source_text or "", "target": target_text or "", "model": model_name,
                  "steps": int(count), "max_theta": theta, "seed": chosen_seed(seed_value, random_seed),
                  "ddim_steps": optional_number(steps, "DDIM steps", int), **stage_settings_values(*stage_settings)}
        result, pngs, gif_path = context.run(TextDiffRequest, values)
        return pngs, gif_path, result.settings["seed"]

    button.click(text_diff, [image, source, target, model, steps, strength, seed, randomize, ddim_steps, *settings], [gallery, gif, seed],
                 api_visibility="private")
    return image
