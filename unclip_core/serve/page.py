"""The web page: one tab per operation, and the Generate gallery's "send to" buttons that carry
an image into another tab and switch to it."""

from __future__ import annotations

import gradio as gr

from .page_support import PageContext, picked_image
from .tab_fill import build_fill_tab
from .tab_generate import build_generate_tab
from .tab_interpolate import build_interpolate_tab
from .tab_text_diff import build_text_diff_tab
from .tab_variations import build_variations_tab

# tab id -> the label its "send to" button shows; interpolation takes the image as its A end
SEND_TARGETS = {"vary-tab": "Variations", "interpolate-tab": "Interpolate (A)",
                "textdiff-tab": "Text diff", "fill-tab": "Inpaint / Outpaint"}

# System fonts only: the default theme would fetch web fonts, and the page must work offline.
THEME = gr.themes.Default(
    font=["ui-sans-serif", "system-ui", "sans-serif"], font_mono=["ui-monospace", "monospace"],
)


def build_page(context: PageContext) -> gr.Blocks:
    with gr.Blocks(title="unclip", analytics_enabled=False) as page:
        gr.Markdown("## unclip: text -> CLIP image embedding -> image")
        with gr.Tabs(elem_id="tabs") as tabs:
            with gr.Tab("Generate", id="generate-tab", elem_id="generate-tab"):
                generate = build_generate_tab(context, SEND_TARGETS)
            with gr.Tab("Variations", id="vary-tab", elem_id="vary-tab"):
                vary_image = build_variations_tab(context)
            with gr.Tab("Interpolate", id="interpolate-tab", elem_id="interpolate-tab"):
                interpolate_a, _ = build_interpolate_tab(context)
            with gr.Tab("Text diff", id="textdiff-tab", elem_id="textdiff-tab"):
                text_diff_image = build_text_diff_tab(context)
            with gr.Tab("Inpaint / Outpaint", id="fill-tab", elem_id="fill-tab"):
                fill_editor = build_fill_tab(context)

        receivers = {"vary-tab": vary_image, "interpolate-tab": interpolate_a,
                     "textdiff-tab": text_diff_image, "fill-tab": fill_editor}
        for tab_id, button in generate.send_buttons.items():
            button.click(
                _sender(tab_id), [generate.paths, generate.selected], [receivers[tab_id], tabs],
                api_visibility="private", queue=False,
            )
    return page


def _sender(tab_id: str):
    def send(paths: list[str], selected: int | None):
        return picked_image(paths, selected), gr.Tabs(selected=tab_id)

    return send
