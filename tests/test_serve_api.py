"""`unclip serve`'s HTTP API against a real server over real HTTP on the loopback interface:
every operation, bad input as 4xx with one readable line, reproducible PNGs, and a bounded load
test of concurrent generate requests."""

from __future__ import annotations

import io
import json
import threading
import urllib.error
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from PIL import Image

from unclip_core.pipeline import Pipeline
from unclip_core.serve.png_settings import read_settings

from .serve_server import FAST_STEPS, b64, get_json, post, resident_bytes, running_server, unb64

FAST = {"prior_steps": 2, "decoder_steps": 3, "upsampler_steps": 2}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with running_server(tmp_path_factory.mktemp("serve-api"), concurrency=2, max_waiting=16) as (url, process):
        yield url, process


def generate(url: str, **fields) -> dict:
    status, body = post(url + "/api/generate", {"prompts": ["red heart"], **FAST, **fields})
    assert status == 200, body
    return body


def decode(png: str) -> Image.Image:
    image = Image.open(io.BytesIO(unb64(png)))
    image.load()
    return image


def test_generate_returns_pngs_that_carry_their_settings_and_reproduce(server):
    url, _ = server
    body = generate(url, prompts=["red heart", "thumbs up"], num_images=2, seed=7)
    assert len(body["images"]) == 4
    image = decode(body["images"][3])
    assert image.format == "PNG" and image.size == (64, 64)
    settings = read_settings(unb64(body["images"][3]))
    assert settings["seed"] == 7 and settings["model"] == "unclip-emoji" and settings["index"] == 3
    assert settings["prompts"] == ["red heart", "thumbs up"] and settings["decoder_steps"] == 3
    # The stored settings, sent back as they are, give the same bytes.
    status, again = post(url + "/api/generate", settings)
    assert status == 200 and again["images"] == body["images"]


def test_a_model_says_what_a_request_may_set_on_each_stage(server):
    """GET /api/models/NAME: each stage's type, sampler and sampling settings with their values,
    which are the keys *_options accepts; a model the server does not offer is a 404."""
    url, _ = server
    described = get_json(url + "/api/models/unclip-emoji")
    pipe = Pipeline.from_pretrained("unclip-emoji", overrides=FAST_STEPS)  # as the server loads it
    decoder = described["decoder"]
    assert decoder["type"] == pipe.components.decoder.name
    assert set(decoder["sampling_settings"]) == set(type(pipe.components.decoder).sampling_fields)
    assert decoder["sampling_settings"]["guidance_scale"] == pipe.components.decoder.config.guidance_scale
    assert decoder["sampler"]["steps"] == pipe.components.decoder.sampler.steps
    assert len(described["upsamplers"]) == len(pipe.components.upsamplers)
    assert set(described["prior"]["sampling_settings"]) == set(type(pipe.components.prior).sampling_fields)
    with pytest.raises(urllib.error.HTTPError) as missing:
        get_json(url + "/api/models/no-such-model")
    assert missing.value.code == 404 and "offers: unclip-emoji" in json.load(missing.value)["error"]


def test_a_request_without_a_seed_gets_one_and_records_it(server):
    url, _ = server
    body = generate(url)
    seed = body["settings"]["seed"]
    assert isinstance(seed, int)
    assert generate(url, seed=seed)["images"] == body["images"]


def test_each_request_chooses_its_own_sampler_steps_and_guidance(server):
    url, _ = server
    samplers = get_json(url + "/api/samplers")["samplers"]
    base = generate(url, seed=3)["images"][0]
    other = generate(url, seed=3, decoder_sampler=samplers[0], decoder_steps=4, decoder_guidance=1.5)["images"][0]
    assert other != base
    caption_only = generate(url, seed=3, decoder_options={"condition_on_image": False})
    assert caption_only["images"][0] != base
    assert caption_only["settings"]["decoder_options"] == {"condition_on_image": False}  # kept with the result


@pytest.mark.parametrize(
    ("path", "body", "status", "names"),
    [
        ("generate", {"prompts": [" "]}, 422, "prompt is empty"),
        ("generate", {"prompts": ["a"], "decoder_steps": 0}, 422, "decoder_steps"),
        ("generate", {"prompts": ["a"], "decoder_steps": 2000}, 422, "only 1000 timesteps"),
        ("generate", {"prompts": ["a"], "upsampler_steps": 500}, 422, "leaves 151 timesteps for 500 sampler steps"),
        ("generate", {"prompts": ["a"], "prior_sampler": "no-such-sampler"}, 422, "registered sampler types"),
        ("generate", {"prompts": ["a"], "model": "no-such-model"}, 422, "offers: unclip-emoji"),
        ("generate", {"prompts": ["a"], "decoder_options": {"channels": 8}}, 422, "'channels' is not a sampling setting of the decoder"),
        ("generate", {"prompts": ["a"], "decoder_options": {"guidance_scale": "loud"}}, 422, "decoder.guidance_scale"),
        ("generate", {"prompt": "a"}, 422, "unknown field"),
        ("generate", b"not json", 400, "not JSON"),
        ("generate", [1, 2], 400, "JSON object"),
        ("vary", {"image": b64(b"this is text, not a picture")}, 422, "not a readable image"),
        ("vary", {"image": "%%%"}, 422, "not valid base64"),
        ("vary", {"image": "PLACEHOLDER", "ddim_steps": 1}, 422, "ddim_steps"),
        ("vary", {"image": "PLACEHOLDER", "decoder_options": {"channels": 8}}, 422, "'channels' is not a sampling setting"),
        ("interpolate", {"frames": 4}, 422, "two images or two prompts"),
        ("outpainting", {"image": "PLACEHOLDER"}, 422, "nothing to extend"),
        ("inpainting", {"image": "PLACEHOLDER", "mask": "WRONG_MASK"}, 422, "different shape"),
    ],
)
def test_bad_input_is_a_4xx_with_one_readable_line(server, path, body, status, names):
    url, _ = server
    picture = io.BytesIO()
    Image.new("RGB", (64, 64), "red").save(picture, format="PNG")
    wrong = io.BytesIO()
    Image.new("L", (40, 64), 255).save(wrong, format="PNG")
    if isinstance(body, dict):
        body = {k: {"PLACEHOLDER": b64(picture.getvalue()), "WRONG_MASK": b64(wrong.getvalue())}.get(v, v)
                if isinstance(v, str) else v for k, v in body.items()}
    got, answer = post(f"{url}/api/{path}", body)
    assert got == status, answer
    assert names in answer["error"] and "\n" not in answer["error"] and "Traceback" not in answer["error"]
    assert get_json(url + "/api/health")["status"] == "ok"  # the server goes on


def test_every_editing_operation_answers_with_images(server):
    url, _ = server
    heart = generate(url, seed=1)["images"][0]
    face = generate(url, prompts=["grinning face"], seed=2)["images"][0]

    # Few DDIM steps keep the edits quick; what the step count buys is measured in test_editing.py.
    status, body = post(url + "/api/vary", {"image": heart, "n": 2, "eta": 0.8, "seed": 0, "ddim_steps": 4})
    assert status == 200 and len(body["images"]) == 2 and body["settings"]["image"]["width"] == 64
    status, finer = post(url + "/api/vary", {"image": heart, "n": 2, "eta": 0.8, "seed": 0, "ddim_steps": 8})
    assert status == 200 and finer["images"] != body["images"] and finer["settings"]["ddim_steps"] == 8

    status, body = post(url + "/api/interpolate", {"images": [heart, face], "frames": 3, "seed": 0, "ddim_steps": 4})
    assert status == 200 and len(body["images"]) == 3
    gif = Image.open(io.BytesIO(unb64(body["gif"])))
    assert gif.format == "GIF" and gif.n_frames == 4  # forward and back: 0 1 2 1

    status, body = post(url + "/api/interpolate", {"prompts": ["red heart", "grinning face"], "frames": 2, "ddim_steps": 4})
    assert status == 200 and len(body["images"]) == 2

    status, body = post(url + "/api/text-diff", {"image": heart, "source": "red heart", "target": "blue heart",
                                                 "steps": 2, "seed": 0, "ddim_steps": 4})
    assert status == 200 and len(body["images"]) == 2 and body["gif"]

    mask = Image.new("L", (64, 64), 0)
    mask.paste(255, (16, 16, 48, 48))
    buffer = io.BytesIO()
    mask.save(buffer, format="PNG")
    status, body = post(url + "/api/inpainting", {"image": heart, "mask": b64(buffer.getvalue()), "prompt": "star",
                                               "seed": 0})
    assert status == 200
    before, after = np.asarray(decode(heart)), np.asarray(decode(body["images"][0]))
    assert (before[:8] == after[:8]).all()  # outside the mask the image is kept

    status, body = post(url + "/api/outpainting", {"image": heart, "pad_left": 8, "pad_right": 8, "seed": 0})
    assert status == 200 and decode(body["images"][0]).size == (80, 64)

    # An edit takes the stages' sampling settings too, and keeps them with its result.
    plain = post(url + "/api/vary", {"image": heart, "n": 1, "seed": 0, "ddim_steps": 4})[1]
    status, body = post(url + "/api/vary", {"image": heart, "n": 1, "seed": 0, "ddim_steps": 4,
                                            "decoder_options": {"condition_on_image": False}})
    assert status == 200 and body["images"] != plain["images"]
    assert read_settings(unb64(body["images"][0]))["decoder_options"] == {"condition_on_image": False}


def test_sixteen_concurrent_requests_each_give_what_they_give_alone(server):
    """Load: 16 concurrent generate requests with their own seeds and step counts all succeed with
    the images each gives alone, while memory stays bounded and the health check keeps answering."""
    url, process = server
    requests = [{"prompts": ["thumbs up"], "seed": 100 + k, "prior_steps": 1 + k % 2, "decoder_steps": 2 + k % 3,
                 "upsampler_steps": 1 + k % 2} for k in range(16)]
    alone = [post(url + "/api/generate", r)[1]["images"] for r in requests]
    baseline = resident_bytes(process.pid)

    health_times, peak, stop = [], [baseline], threading.Event()

    def watch():  # the health check and the server's memory, throughout the load
        while not stop.is_set():
            started = time.monotonic()
            assert get_json(url + "/api/health", timeout=10)["status"] == "ok"
            health_times.append(time.monotonic() - started)
            peak.append(resident_bytes(process.pid))
            stop.wait(0.2)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        with ThreadPoolExecutor(16) as pool:
            answers = list(pool.map(lambda r: post(url + "/api/generate", r, timeout=600), requests))
    finally:
        stop.set()
        watcher.join()
    assert [status for status, _ in answers] == [200] * 16
    assert [body["images"] for _, body in answers] == alone
    assert len(health_times) >= 3 and max(health_times) < 5.0
    assert max(peak) - baseline < 1.5 * 2**30, f"memory grew by {(max(peak) - baseline) / 2**20:.0f} MiB"
