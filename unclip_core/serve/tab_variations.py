"""The Variations tab: new images that keep an image's gist (its CLIP embedding decoded again)."""

from __future__ import annotations

import gradio as gr

from .page_support import (
    PageContext, chosen_seed, ddim_steps_box, model_picker, optional_number, seed_widgets, stage_settings_values,
    stage_settings_widgets,
)
from .requests import MAX_IMAGES, VaryRequest


def build_variations_tab(context: PageContext) -> gr.Image:
    """Builds the tab; returns its image input, which the Generate tab's gallery can fill."""
    with gr.Row():
        with gr.Column():
            image = gr.Image(type="pil", label="image", elem_id="vary-image", sources=["upload", "clipboard"])
            model = model_picker(context, "vary-model")
            with gr.Row():
                count = gr.Slider(1, MAX_IMAGES, value=4, step=1, label="count", elem_id="vary-count")
                eta = gr.Slider(0.0, 1.0, value=0.8, step=0.05, label="eta (0 reconstructs, larger varies more)",
                                elem_id="vary-eta")
            seed, randomize = seed_widgets("vary")
            ddim_steps = ddim_steps_box("vary")
            settings = stage_settings_widgets("vary")
            button = gr.Button("Make variations", variant="primary", elem_id="vary-button")
        with gr.Column():
            gallery = gr.Gallery(label="variations (PNG with settings)", columns=4, elem_id="vary-gallery",
                                 buttons=["download", "fullscreen"], interactive=False)

    def vary(picture, model_name, n, eta_value, seed_value, random_seed, steps, *stage_settings):
        if picture is None:
            raise gr.Error("no image: upload one, or send one from the Generate tab", print_exception=False)
        values = {"image": picture, "model": model_name, "n": int(n), "eta": eta_value,
                  "ddim_steps": optional_number(steps, "DDIM steps", int),
                  "seed": chosen_seed(seed_value, random_seed), **stage_settings_values(*stage_settings)}
        result, pngs, _ = context.run(VaryRequest, values)
        return pngs, result.settings["seed"]

    button.click(vary, [image, model, count, eta, seed, randomize, ddim_steps, *settings], [gallery, seed], api_visibility="private")
    return image
