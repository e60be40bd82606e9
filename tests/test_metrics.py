"""The built-in metrics: each passes the metric contract, and each measures what it says."""

import pytest
import torch

from unclip_core.errors import ConfigError, InputError
from unclip_core.interfaces import Samples
from unclip_core.pipeline import Pipeline
from unclip_core.testing import MetricContract, build_component
from unclip_plugins.datasets.shapes_attributes import Attributes
from unclip_plugins.datasets.shapes_captions import caption
from unclip_plugins.datasets.shapes_render import render
from unclip_plugins.datasets.emoji_render import find_font
from unclip_plugins.datasets.image_files import uint8_to_tensor

TINY_ENCODER = {"type": "open_clip", "model": "unclip-tiny"}
SHAPES = [
    Attributes("red", "circle", "large", "center"),
    Attributes("blue", "square", "small", "top left"),
    Attributes("green", "cross", "large", "bottom right"),
    Attributes("yellow", "triangle", "small", "top"),
    Attributes("red", "triangle", "large", "left"),  # a held-out color+shape pair
    Attributes("purple", "circle", "small", "right"),
]


class TestFID(MetricContract):
    metric_type = "fid"
    encoder_section = TINY_ENCODER


class TestKID(MetricContract):
    metric_type = "kid"
    metric_options = {"subsets": 10}
    encoder_section = TINY_ENCODER


class TestClipScore(MetricContract):
    metric_type = "clip_score"
    encoder_section = TINY_ENCODER


class TestRetrieval(MetricContract):
    metric_type = "retrieval"
    encoder_section = TINY_ENCODER


class TestPriorCosine(MetricContract):
    metric_type = "prior_cosine"
    encoder_section = TINY_ENCODER
    prior_section = {"type": "text_as_image"}


class TestDiversity(MetricContract):
    metric_type = "diversity"
    encoder_section = TINY_ENCODER


class TestOracle(MetricContract):
    metric_type = "oracle"
    encoder_section = TINY_ENCODER
    prompts = [caption(a) for a in SHAPES]


@pytest.fixture(scope="module")
def encoder():
    return build_component("encoder", TINY_ENCODER).eval()


def smooth_images(n: int, seed: int) -> torch.Tensor:
    coarse = torch.rand(n, 3, 4, 4, generator=torch.Generator().manual_seed(seed)) * 2 - 1
    return torch.nn.functional.interpolate(coarse, size=32, mode="bilinear", align_corners=False)


def with_noise(images: torch.Tensor, level: float) -> torch.Tensor:
    return (images + level * torch.randn(images.shape, generator=torch.Generator().manual_seed(1))).clamp(-1, 1)


@pytest.mark.parametrize("kind", ["fid", "kid"])
def test_distance_of_a_set_to_itself_is_zero_and_grows_with_noise(kind, encoder):
    true = smooth_images(96, seed=0)
    metric = build_component("metric", {"type": kind, "subsets": 10} if kind == "kid" else {"type": kind})
    prompts = [f"p{i}" for i in range(len(true))]
    scores = [
        metric.measure(Samples(prompts, with_noise(true, level), encoder, true))[kind] for level in (0.0, 0.3, 1.0)
    ]
    # FID of a set with itself is 0 up to rounding; KID's estimator is unbiased, so on one set it
    # lands near 0 on either side, by about the spread of the kernel over the set / its size.
    tolerance = 1e-6 if kind == "fid" else 0.2
    assert abs(scores[0]) <= tolerance * scores[2], scores
    assert scores[0] < scores[1] < scores[2], scores


def test_fid_needs_two_images(encoder):
    image = smooth_images(1, seed=0)
    with pytest.raises(InputError, match="at least 2 images"):
        build_component("metric", {"type": "fid"}).measure(Samples(["p"], image, encoder, image))


def test_oracle_reads_true_renders_right_and_wrong_captions_wrong(encoder):
    images = torch.stack([uint8_to_tensor(render(a, 64)) for a in SHAPES])
    metric = build_component("metric", {"type": "oracle"})
    right = metric.measure(Samples([caption(a) for a in SHAPES], images, encoder))
    assert right["oracle_all"] == 1.0 and right["oracle_seen_all"] == 1.0 and right["oracle_held_out_all"] == 1.0
    recolored = [caption(Attributes("cyan", a.shape, a.size, a.position)) for a in SHAPES]
    wrong = metric.measure(Samples(recolored, images, encoder))
    assert wrong["oracle_color"] == 0.0 and wrong["oracle_shape"] == 1.0 and wrong["oracle_all"] == 0.0
    assert right["oracle_held_out_attributes"] == 1.0 and right["oracle_seen_shape"] == 1.0
    # Every cyan pair is a seen pair: the held-out group is absent, and a quarter of the attributes is wrong.
    assert wrong["oracle_seen_color"] == 0.0 and wrong["oracle_seen_attributes"] == 0.75
    assert not any(column.startswith("oracle_held_out") for column in wrong)


def test_oracle_refuses_captions_it_cannot_read(encoder):
    with pytest.raises(InputError, match="shapes captions"):
        build_component("metric", {"type": "oracle"}).measure(Samples(["a cat"], smooth_images(1, 0), encoder))


def test_retrieval_finds_each_true_image_when_the_images_are_the_true_ones(encoder):
    true = smooth_images(12, seed=3)
    scores = build_component("metric", {"type": "retrieval"}).measure(Samples([f"p{i}" for i in range(12)], true, encoder, true))
    assert scores == {"retrieval_top1": 1.0, "retrieval_top5": 1.0}


def test_diversity_is_zero_for_copies_and_grows_with_how_much_a_prompt_s_images_differ(encoder):
    base = smooth_images(3, seed=5).repeat_interleave(4, 0)  # 3 prompts, 4 images each
    prompts = [f"prompt {i // 4}" for i in range(12)]
    metric = build_component("metric", {"type": "diversity"})
    copies = metric.measure(Samples(prompts, base, encoder))
    assert copies["diversity_clip"] == pytest.approx(0.0, abs=1e-5) and copies["diversity_pixels"] == pytest.approx(0.0, abs=1e-6)
    scores = [metric.measure(Samples(prompts, with_noise(base, level), encoder)) for level in (0.1, 0.5)]
    assert 0 < scores[0]["diversity_pixels"] < scores[1]["diversity_pixels"]
    assert 0 < scores[0]["diversity_clip"] < scores[1]["diversity_clip"]
    # Only images of the same prompt are compared: prompts that differ from each other add nothing.
    other_prompts = metric.measure(Samples(prompts, smooth_images(3, seed=6).repeat_interleave(4, 0), encoder))
    assert other_prompts["diversity_pixels"] == pytest.approx(0.0, abs=1e-6)


def test_diversity_of_two_images_is_their_distance(encoder):
    images = torch.stack([torch.full((3, 32, 32), -1.0), torch.full((3, 32, 32), 1.0)])
    per_image = build_component("metric", {"type": "diversity"}).per_image(Samples(["p", "p"], images, encoder))
    # Black against white: every pixel differs by the whole 0..1 range.
    assert per_image["diversity_pixels"].tolist() == pytest.approx([1.0, 1.0])
    z = torch.nn.functional.normalize(encoder.encode_image(images), dim=-1)
    assert per_image["diversity_clip"].tolist() == pytest.approx([1 - (z[0] @ z[1]).item()] * 2, abs=1e-5)


def test_prior_cosine_of_the_caption_only_prior_is_the_caption_image_cosine(encoder):
    true = smooth_images(6, seed=4)
    prompts = [f"prompt {i}" for i in range(6)]
    prior = build_component("prior", {"type": "text_as_image"}, spec=encoder.spec)
    scores = build_component("metric", {"type": "prior_cosine"}).measure(Samples(prompts, true, encoder, true, prior))
    z_t = encoder.embed_texts(prompts).embedding
    expected = torch.nn.functional.cosine_similarity(encoder.encode_image(true), z_t).mean().item()
    assert scores["prior_cosine_true"] == pytest.approx(expected, abs=1e-5)
    assert scores["prior_cosine_text"] == pytest.approx(1.0, abs=1e-5)


def test_clip_score_prefers_each_emoji_s_own_caption_by_the_bundled_clip():
    try:
        find_font(None)
    except ConfigError:
        pytest.skip("Noto Color Emoji is not installed (fonts-noto-color-emoji)")
    encoder = Pipeline.from_pretrained("unclip-emoji").components.encoder
    items = build_component("dataset", {"type": "emoji", "image_size": 64, "limit": 60}).train_set()
    pairs = [items[i] for i in range(0, 48, 3)]
    images = torch.stack([p["image"] for p in pairs])
    prompts = [p["caption"] for p in pairs]
    metric = build_component("metric", {"type": "clip_score"})
    own = metric.measure(Samples(prompts, images, encoder))["clip_score"]
    other = metric.measure(Samples(prompts[1:] + prompts[:1], images, encoder))["clip_score"]
    assert own > other + 0.05, (own, other)


def test_example_metric_package_is_found_through_its_entry_point():
    from unclip_core.plugins import build_registry, plugin_manager

    entries = {(e.kind, e.name): e.plugin for e in build_registry(plugin_manager()).entries()}
    if ("metric", "colorfulness") not in entries:
        pytest.fail("the example metric is not installed: pip install -e examples/unclip-colorfulness")
    assert entries[("metric", "colorfulness")] == "colorfulness"


def test_bootstrap_interval_is_as_wide_as_a_rate_over_its_items_and_pairing_cancels_shared_difficulty():
    from unclip_core.metrics import bootstrap_interval

    def rate(r):
        return r.float().mean(1)

    hits = torch.arange(269) % 2 == 0  # 50.2% of 269 prompts: about 6 points either way at 95%
    low, high = bootstrap_interval(hits, rate)
    assert 0.42 < low < 0.46 and 0.56 < high < 0.60
    assert bootstrap_interval(torch.ones(50, dtype=torch.bool), rate) == (1.0, 1.0)

    # Two systems that differ on 8 of 269 prompts, always in the new one's favour: unpaired their
    # intervals overlap almost entirely, paired the gain is clear.
    better = hits.clone()
    better[torch.arange(1, 17, 2)] = True
    pair = torch.stack([hits, better], dim=-1)
    low, high = bootstrap_interval(pair, lambda r: r[..., 1].float().mean(1) - r[..., 0].float().mean(1))
    assert 0 < low < 8 / 269 < high
    with pytest.raises(ValueError, match="at least one item"):
        bootstrap_interval(torch.ones(0), rate)
