"""`unclip serve`'s page in a real headless Chromium (Debian's, driven by Playwright): generate
with a seed twice and get the same bytes, send the image on to every editing tab, paint a mask
and inpaint, see bad input as a message in the page, and make no request off this machine.

Screenshots of each tab go to $UNCLIP_SERVE_SCREENSHOTS when set (docs/images for docs/serve.md).
"""

from __future__ import annotations

import io
import os
import shutil
from pathlib import Path

import pytest
from PIL import Image

from unclip_core.serve.png_settings import read_settings

from .serve_server import running_server

# Few steps, but enough for recognizable pictures in the screenshots.
SERVER_STEPS = ("prior.sampler.steps=4", "decoder.sampler.steps=8", "upsamplers.0.sampler.steps=4")

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
WAIT_MS = 180_000

pytestmark = [
    pytest.mark.skipif(CHROMIUM is None, reason="no chromium on PATH: install Debian's `chromium` (scripts/setup.sh does, as root)"),
]


@pytest.fixture(scope="module")
def browser_page(tmp_path_factory):
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed: pip install 'unclip[test]'")
    with running_server(tmp_path_factory.mktemp("serve-browser"), steps=SERVER_STEPS) as (url, _):
        with sync_api.sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.set_default_timeout(WAIT_MS)
            off_machine = []
            page.on("request", lambda r: off_machine.append(r.url) if not r.url.startswith((url, "data:", "blob:")) else None)
            page.goto(url)
            yield url, page, off_machine
            browser.close()


def screenshot(page, name: str, tmp_path: Path) -> None:
    folder = Path(os.environ.get("UNCLIP_SERVE_SCREENSHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    dismiss_messages(page)
    page.screenshot(path=str(folder / f"serve-{name}.png"), full_page=True)


def image_bytes(page, selector: str, previous: str | None = None) -> tuple[str, bytes]:
    """(src, bytes) of the first image under `selector`, waiting for one whose src is not `previous`."""
    page.wait_for_function(
        "([selector, previous]) => { const img = document.querySelector(selector + ' img');"
        " return img && img.src && img.src !== previous; }",
        arg=[selector, previous], timeout=WAIT_MS,
    )
    src = page.locator(f"{selector} img").first.get_attribute("src")
    response = page.request.get(src)
    assert response.ok, src
    return src, response.body()


def watch_progress(page, selector: str) -> None:
    """Record in window.stagesSeen every stage named by the progress shown over `selector`."""
    page.evaluate(
        """(selector) => {
            window.stagesSeen = new Set();
            const target = document.querySelector(selector);
            new MutationObserver(() => {
                const shown = target.innerText.match(/(prior|decoder|upsampler \\d+) - /);
                if (shown) window.stagesSeen.add(shown[1]);
            }).observe(target, {subtree: true, childList: true, characterData: true});
        }""",
        selector,
    )


def paint_stroke(page, canvas) -> None:
    """A zigzag brush stroke across the middle of the editor's canvas."""
    box = canvas.bounding_box()
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(cx - 40, cy - 20)
    page.mouse.down()
    for step in range(1, 9):
        page.mouse.move(cx - 40 + step * 10, cy - 20 + (step % 2) * 40, steps=4)
    page.mouse.up()


def set_slider(page, elem_id: str, value: int) -> None:
    """Type `value` into a slider's number box and wait until the slider itself holds it: the page
    sends a slider's committed value, and a click right after typing can beat the commit."""
    box = page.locator(f"#{elem_id} input[type=number]")
    box.fill(str(value))
    box.press("Enter")
    page.wait_for_function(
        "([id, value]) => document.querySelector(`#${id} input[type=range]`).value === value",
        arg=[elem_id, str(value)], timeout=WAIT_MS,
    )


def expect_message(page, text: str) -> None:
    """Wait for a message with `text`, then close every message, so that the next check can
    only be met by a message shown after it."""
    page.get_by_text(text, exact=False).first.wait_for(state="visible")
    dismiss_messages(page)


def dismiss_messages(page) -> None:
    # Clicked from the page's own script: a toast re-renders as it animates, which can detach a
    # button between Playwright finding it and clicking it.
    page.evaluate("() => document.querySelectorAll('[data-testid=\"toast-close\"]').forEach(b => b.click())")
    page.wait_for_function("() => ![...document.querySelectorAll('[data-testid=\"toast-close\"]')]"
                           ".some(b => b.offsetParent !== null)", timeout=WAIT_MS)


def draw_from_the_caption_alone(page, box: str, tab: str, previous: str) -> tuple[str, bytes]:
    """In the decoder settings box `box` of a tab: a setting the decoder lacks is a message; then
    `condition_on_image: false` draws, and the new image's PNG keeps that setting."""
    settings = page.locator(f"#{box} textarea, #{box} input").first
    settings.fill("channels: 8")
    page.locator(f"#{tab}-button").click()
    expect_message(page, "'channels' is not a sampling setting of the decoder")
    settings.fill("condition_on_image: false")
    page.locator(f"#{tab}-button").click()
    src, png = image_bytes(page, f"#{tab}-gallery", previous=previous)
    assert read_settings(png)["decoder_options"] == {"condition_on_image": False}
    return src, png


def test_the_page_generates_edits_and_reports_bad_input(browser_page, tmp_path):
    url, page, off_machine = browser_page

    # Generate: a prompt, a seed, low step counts per stage.
    page.locator("#generate-prompts textarea").fill("red heart")
    page.locator("#generate-seed input").fill("5")
    page.get_by_text("stages: steps, guidance, sampler, settings").click()
    for stage, steps in (("prior", "4"), ("decoder", "6"), ("upsampler", "4")):
        page.locator(f"#{stage}-steps textarea, #{stage}-steps input").first.fill(steps)
    watch_progress(page, "#generate-gallery")
    page.locator("#generate-button").click()
    first_src, first = image_bytes(page, "#generate-gallery")
    assert {"prior", "decoder"} <= set(page.evaluate("() => [...window.stagesSeen]")), "no per-stage progress shown"
    image = Image.open(io.BytesIO(first))
    image.load()
    assert image.format == "PNG" and image.size == (64, 64)
    settings = read_settings(first)
    assert settings["seed"] == 5 and settings["prompts"] == ["red heart"] and settings["decoder_steps"] == 6
    screenshot(page, "generate", tmp_path)

    # The same seed again: the same bytes.
    page.locator("#generate-button").click()
    second_src, second = image_bytes(page, "#generate-gallery", previous=first_src)
    assert second == first

    # Bad input: a readable message in the page, and the page goes on working.
    page.locator("#generate-prompts textarea").fill("   ")
    page.locator("#generate-button").click()
    expect_message(page, "a prompt is empty")
    page.locator("#generate-prompts textarea").fill("red heart")
    page.locator("#decoder-steps textarea, #decoder-steps input").first.fill("0")
    page.locator("#generate-button").click()
    expect_message(page, "decoder_steps")
    page.locator("#decoder-steps textarea, #decoder-steps input").first.fill("6")

    # A stage's sampling settings, typed as 'name: value' lines; a wrong one is a message too.
    decoder_settings = page.locator("#decoder-settings textarea, #decoder-settings input").first
    decoder_settings.fill("not a setting")
    page.locator("#generate-button").click()
    expect_message(page, "decoder settings: type one 'name: value' line a setting")
    caption_only_src, caption_only = draw_from_the_caption_alone(page, "decoder-settings", "generate", second_src)
    assert caption_only != first
    decoder_settings.fill("")  # the model's own settings again: the first request's bytes again
    page.locator("#generate-button").click()
    _, again = image_bytes(page, "#generate-gallery", previous=caption_only_src)
    assert again == first

    # Variations of the generated image.
    page.locator("#send-to-vary-tab").click()
    page.locator("#vary-image img").first.wait_for()
    set_slider(page, "vary-count", 2)
    page.locator("#vary-ddim-steps textarea, #vary-ddim-steps input").first.fill("16")  # quicker than the default
    page.locator("#vary-button").click()
    page.locator("#vary-gallery img").nth(1).wait_for()
    varied_src, varied = image_bytes(page, "#vary-gallery")
    assert read_settings(varied)["operation"] == "vary" and read_settings(varied)["n"] == 2
    screenshot(page, "variations", tmp_path)
    # An editing tab takes the stages' sampling settings too.
    page.locator("#vary-stage-settings").get_by_text("stages: sampling settings").click()
    _, caption_varied = draw_from_the_caption_alone(page, "vary-decoder-settings", "vary", varied_src)
    assert read_settings(caption_varied)["ddim_steps"] == 16

    # Interpolate between two prompts; the frames come as a strip and a GIF.
    page.get_by_role("tab", name="Interpolate").click()
    page.get_by_label("two prompts").check()
    page.locator("#interpolate-prompt-a textarea").fill("red heart")
    page.locator("#interpolate-prompt-b textarea").fill("grinning face")
    set_slider(page, "interpolate-frames", 3)
    page.locator("#interpolate-ddim-steps textarea, #interpolate-ddim-steps input").first.fill("16")
    page.locator("#interpolate-button").click()
    page.locator("#interpolate-gallery img").nth(2).wait_for()
    page.locator("#interpolate-gif a").first.wait_for()
    screenshot(page, "interpolate", tmp_path)

    # Text diff of the generated image.
    page.get_by_role("tab", name="Generate").click()
    page.locator("#send-to-textdiff-tab").click()
    page.locator("#textdiff-image img").first.wait_for()
    page.locator("#textdiff-from textarea").fill("red heart")
    page.locator("#textdiff-to textarea").fill("blue heart")
    set_slider(page, "textdiff-frames", 2)
    page.locator("#textdiff-ddim-steps textarea, #textdiff-ddim-steps input").first.fill("16")
    page.locator("#textdiff-button").click()
    page.locator("#textdiff-gallery img").nth(1).wait_for()
    screenshot(page, "text-diff", tmp_path)

    # Inpaint: paint a mask over the middle of the image with the brush, then fill it.
    page.get_by_role("tab", name="Generate").click()
    page.locator("#send-to-fill-tab").click()
    canvas = page.locator("#fill-editor canvas").first
    canvas.wait_for()
    page.locator("#fill-prompt textarea, #fill-prompt input").first.fill("star")
    # On a loaded machine the editor may still be laying the image out and miss the strokes; the
    # page then says the mask is empty, and a person would simply paint again.
    for attempt in range(3):
        page.wait_for_timeout(1000 * (attempt + 1))
        paint_stroke(page, canvas)
        page.locator("#inpaint-button").click()
        page.wait_for_function(
            "() => document.querySelector('#fill-gallery img') || document.body.innerText.includes('all black')",
            timeout=WAIT_MS,
        )
        if page.locator("#fill-gallery img").count():
            break
        page.get_by_text("all black").first.wait_for(state="hidden", timeout=30_000)
    _, filled = image_bytes(page, "#fill-gallery")
    result = Image.open(io.BytesIO(filled))
    result.load()
    assert result.size == (64, 64) and read_settings(filled)["operation"] == "inpainting"
    mask = read_settings(filled)["mask"]
    assert mask["width"] == 64 and mask["height"] == 64
    screenshot(page, "inpaint", tmp_path)

    assert off_machine == [], f"the page asked for something off this machine: {off_machine[:3]}"
