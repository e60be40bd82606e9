"""The Inpaint / Outpaint tab: paint over the region to regenerate, or choose borders to extend."""

from __future__ import annotations

import gradio as gr

from .mask_drawing import mask_from_editor
from .page_support import PageContext, chosen_seed, model_picker, seed_widgets, stage_settings_values, stage_settings_widgets
from .requests import MAX_IMAGES, InpaintRequest, OutpaintRequest

BRUSH_COLOR = "#ff00ff"  # only where it is painted matters; a loud color shows the region clearly


def build_fill_tab(context: PageContext) -> gr.ImageEditor:
    """Builds the tab; returns its image editor, which the gallery can fill."""
    with gr.Row():
        with gr.Column():
            editor = gr.ImageEditor(
                type="pil", label="image: paint over what to regenerate", elem_id="fill-editor",
                brush=gr.Brush(colors=[BRUSH_COLOR], default_color=BRUSH_COLOR, color_mode="fixed"),
                sources=["upload", "clipboard"], transforms=(), layers=False, height=420,
            )
            prompt = gr.Textbox(label="prompt (blank: the image's own content)", elem_id="fill-prompt")
            model = model_picker(context, "fill-model")
            count = gr.Slider(1, MAX_IMAGES, value=1, step=1, label="count", elem_id="fill-count")
            seed, randomize = seed_widgets("fill")
            settings = stage_settings_widgets("fill")
            inpaint_button = gr.Button("Inpaint the painted region", variant="primary", elem_id="inpaint-button")
            with gr.Accordion("outpaint: extend the borders", open=True):
                with gr.Row():
                    pads = [
                        gr.Slider(0, 64, value=16 if side in ("left", "right") else 0, step=1,
                                  label=f"{side} (pixels)", elem_id=f"pad-{side}")
                        for side in ("left", "right", "top", "bottom")
                    ]
                outpaint_button = gr.Button("Outpaint", variant="primary", elem_id="outpaint-button")
        with gr.Column():
            gallery = gr.Gallery(label="results (PNG with settings)", columns=4, elem_id="fill-gallery",
                                 buttons=["download", "fullscreen"], interactive=False)

    def picture_of(value):
        if not value or value.get("background") is None:
            raise gr.Error("no image: upload one, or send one from the Generate tab", print_exception=False)
        return mask_from_editor(value)

    def inpaint(value, text, model_name, n, seed_value, random_seed, prior_text, decoder_text, upsampler_text):
        image, mask = picture_of(value)
        values = {"image": image, "mask": mask, "prompt": text or "", "model": model_name, "n": int(n),
                  "seed": chosen_seed(seed_value, random_seed),
                  **stage_settings_values(prior_text, decoder_text, upsampler_text)}
        result, pngs, _ = context.run(InpaintRequest, values)
        return pngs, result.settings["seed"]

    def outpaint(value, text, model_name, n, seed_value, random_seed, prior_text, decoder_text, upsampler_text,
                 left, right, top, bottom):
        image, _ = picture_of(value)
        values = {"image": image, "prompt": text or "", "model": model_name, "n": int(n),
                  "seed": chosen_seed(seed_value, random_seed), "pad_left": int(left), "pad_right": int(right),
                  "pad_top": int(top), "pad_bottom": int(bottom),
                  **stage_settings_values(prior_text, decoder_text, upsampler_text)}
        result, pngs, _ = context.run(OutpaintRequest, values)
        return pngs, result.settings["seed"]

    common = [editor, prompt, model, count, seed, randomize, *settings]
    inpaint_button.click(inpaint, common, [gallery, seed], api_visibility="private")
    outpaint_button.click(outpaint, [*common, *pads], [gallery, seed], api_visibility="private")
    return editor
