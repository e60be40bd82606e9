"""The emoji set: CLDR captions, the held-out split, rendering and the on-disk cache."""

from __future__ import annotations

import logging
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from unclip_core.errors import ConfigError
from unclip_core.testing import DataSourceContract
from unclip_plugins.datasets.emoji import EmojiConfig, EmojiSource
from unclip_plugins.datasets.emoji_annotations import group_caption, keyword_caption
from unclip_plugins.datasets.emoji_cache import MANIFEST, cache_folder
from unclip_plugins.datasets.emoji_names import emoji_name, normalize_name, phrase
from unclip_plugins.datasets.emoji_render import GLYPH_WIDTH, find_font, load_font
from unclip_plugins.datasets.emoji_split import family, fully_qualified_emoji, has_skin_tone, held_out_split


def font_available() -> bool:
    try:
        find_font()
    except ConfigError:
        return False
    return True


needs_font = pytest.mark.skipif(
    not font_available(), reason="emoji font missing: apt-get install fonts-noto-color-emoji"
)
needs_unicode = pytest.mark.skipif(
    not Path("/usr/share/unicode/emoji/emoji-test.txt").is_file() or not Path("/usr/share/unicode/cldr").is_dir(),
    reason="CLDR annotations or emoji-test.txt missing: apt-get install unicode-cldr-core unicode-data",
)


@pytest.mark.parametrize(
    "name, caption",
    [
        (":thumbs_up_dark_skin_tone:", "thumbs up, dark skin tone"),
        ("thumbs up: dark skin tone", "thumbs up, dark skin tone"),
        (":red_apple:", "red apple"),
        (":man_dark_skin_tone_bald:", "man, dark skin tone, bald"),
        (":woman_medium_skin_tone_beard:", "woman, medium skin tone, beard"),
        (":man_red_hair:", "man, red hair"),
        (":men_with_bunny_ears_dark_skin_tone_light_skin_tone:", "men with bunny ears, dark skin tone, light skin tone"),
        (":eight_o’clock:", "eight o'clock"),
        (":keycap_#:", "keycap, #"),
    ],
)
def test_cldr_names_become_captions(name, caption):
    assert normalize_name(name) == caption


def test_flags_and_phrasings():
    assert emoji_name("🇩🇪") == "flag, Germany"
    assert emoji_name("👍🏿") == "thumbs up, dark skin tone"
    assert phrase("red apple", 1) == "an emoji of red apple"


def test_split_holds_out_whole_emoji_and_single_skin_tones():
    characters = fully_qualified_emoji()
    split = held_out_split(characters)
    train, val = set(split.train), set(split.val)
    assert not train & val and train | val == set(characters)
    assert 0.03 < len(val) / len(characters) < 0.12
    families: dict[str, list[str]] = {}
    for c in characters:
        families.setdefault(family(c), []).append(c)
    whole = [f for f, members in families.items() if set(members) <= val]
    assert any(len(families[f]) > 1 for f in whole), "some skin-tone family is held out entirely"
    assert any(len(families[f]) == 1 for f in whole), "some toneless emoji is held out"
    single_tones = [c for c in val if has_skin_tone(c) and set(families[family(c)]) & train]
    assert len(single_tones) > 20
    for c in single_tones:  # the held-out tone's siblings are seen in training
        assert sum(s in train for s in families[family(c)]) >= 2


def test_split_is_fixed_by_split_seed_and_stable_under_subsets():
    characters = fully_qualified_emoji()
    assert held_out_split(characters) == held_out_split(characters)
    assert held_out_split(characters, split_seed=1).val != held_out_split(characters).val
    # Dropping emoji (an older font) does not move the others between splits.
    subset = characters[::2]
    assert set(held_out_split(subset, tone_val_fraction=0).val) == set(held_out_split(characters, tone_val_fraction=0).val) & set(subset)


def test_missing_font_names_the_package():
    with pytest.raises(ConfigError, match="apt-get install fonts-noto-color-emoji"):
        find_font("/nonexistent/NotoColorEmoji.ttf")


def test_missing_font_fails_when_rendering_is_needed(tmp_path):
    source = EmojiSource(EmojiConfig(font=str(tmp_path / "none.ttf"), cache_dir=str(tmp_path), limit=5))
    with pytest.raises(ConfigError, match="fonts-noto-color-emoji"):
        source.train_set()


@needs_font
def test_font_renders_most_fully_qualified_emoji():
    font = load_font(find_font())
    renderable = [e for e in fully_qualified_emoji() if 0 < font.getbbox(e)[2] <= GLYPH_WIDTH and font.getbbox(e)[3] > font.getbbox(e)[1]]
    assert len(renderable) > 3700


@pytest.fixture(scope="module")
def emoji_cache(tmp_path_factory) -> str:
    return str(tmp_path_factory.mktemp("emoji-cache"))


@needs_font
class TestEmojiSourceContract(DataSourceContract):
    dataset_type = "emoji"
    dataset_options = {"image_size": 16, "limit": 300, "phrasings": True}

    @pytest.fixture(autouse=True)
    def _cache(self, emoji_cache):
        self.cache = emoji_cache

    def options(self):
        return {**self.dataset_options, "cache_dir": self.cache}


class TestFamilyBalancedEmojiSourceContract(TestEmojiSourceContract):
    dataset_options = {**TestEmojiSourceContract.dataset_options, "family_balance": 1.0, "family_fraction": 0.6}


def small_source(cache: Path, **settings) -> EmojiSource:
    return EmojiSource(EmojiConfig(image_size=32, cache_dir=str(cache), limit=80, **settings))


@needs_font
def test_items_are_centered_emoji_on_white(tmp_path):
    data = small_source(tmp_path).train_set()
    assert 60 < len(data) <= 80
    item = data[0]
    assert item["image"].shape == (3, 32, 32)
    assert item["caption"] == emoji_name(data.characters[0])
    corners = item["image"][:, [0, 0, -1, -1], [0, -1, 0, -1]]
    assert (corners > 0.95).all(), "background is white"
    assert (item["image"] < 0.5).any(), "something is drawn"


@needs_font
def test_cache_is_reused_without_the_font(tmp_path):
    first = small_source(tmp_path)
    pixels = first.images()
    folder = cache_folder(tmp_path, first.settings)
    assert (folder / MANIFEST).is_file() and not [p for p in folder.parent.iterdir() if p.name.startswith(".")]
    again = small_source(tmp_path, font=str(tmp_path / "no-font-needed.ttf")).images()
    assert list(again) == list(pixels)
    assert all(np.array_equal(again[c], pixels[c]) for c in pixels)


@needs_font
def test_corrupt_cache_image_is_skipped_or_rendered_again(tmp_path, caplog):
    pixels = small_source(tmp_path).images()
    folder = cache_folder(tmp_path, small_source(tmp_path).settings)
    (folder / "00003.png").write_bytes(b"not a png")
    Image.fromarray(pixels[list(pixels)[4]]).convert("RGBA").save(folder / "00004.png")  # not RGB
    with caplog.at_level(logging.WARNING, logger="unclip.data"):
        without_font = small_source(tmp_path, font=str(tmp_path / "none.ttf")).images()
    assert len(without_font) == len(pixels) - 1 and list(pixels)[3] not in without_font
    assert "00003.png" in caplog.text and "skipping" in caplog.text
    assert np.array_equal(without_font[list(pixels)[4]], pixels[list(pixels)[4]])
    repaired = small_source(tmp_path).images()
    assert np.array_equal(repaired[list(pixels)[3]], pixels[list(pixels)[3]])
    assert Image.open(folder / "00003.png").size == (32, 32)


@needs_unicode
def test_keyword_and_group_captions_come_from_cldr_and_emoji_test():
    assert keyword_caption("\U0001F606", "/usr/share/unicode") == "face, grinning squinting face, laugh, mouth, satisfied, smile"
    assert group_caption("\U0001F606", "/usr/share/unicode") == "face smiling, smileys & emotion"
    # CLDR writes emoji without the variation selector that fully-qualified sequences carry.
    assert keyword_caption("\u2764\ufe0f", "/usr/share/unicode") == "heart, red heart"
    assert group_caption("\u2764\ufe0f", "/usr/share/unicode") == "heart, smileys & emotion"


@needs_font
@needs_unicode
def test_each_caption_kind_is_an_item_of_its_own_in_training_only(tmp_path):
    named = small_source(tmp_path)
    source = small_source(tmp_path, captions=["name", "keywords", "group"])
    train = source.train_set()
    by_emoji: dict[str, list[int]] = {}
    for index, character in enumerate(train.characters):
        by_emoji.setdefault(character, []).append(index)
    assert list(by_emoji) == named.train_set().characters  # every training emoji, in order
    for character, items in by_emoji.items():
        captions = [train.captions[i] for i in items]
        assert captions[0] == emoji_name(character) and len(captions) == len(set(captions)) <= 3
        assert all(torch.equal(train[i]["image"], train[items[0]]["image"]) for i in items)
    assert len(train) > 2.5 * len(by_emoji)
    assert source.val_set().captions == named.val_set().captions  # held-out emoji: by name only


@needs_font
def test_family_balance_spreads_draws_over_families_and_a_fraction_keeps_them_whole(tmp_path):
    def source(**settings) -> EmojiSource:
        return EmojiSource(EmojiConfig(image_size=16, cache_dir=str(tmp_path), limit=300, **settings))

    assert source().train_weights() is None  # every emoji equally often, once per epoch
    train = source().train_set()
    sizes = Counter(family(c) for c in train.characters)
    assert max(sizes.values()) >= 5 and min(sizes.values()) == 1  # single emoji and toned families
    for balance in (1.0, 0.5):
        weights = source(family_balance=balance).train_weights()
        totals: Counter[str] = Counter()
        for character, weight in zip(train.characters, weights.tolist()):
            totals[family(character)] += weight
        # A family of n training emoji is drawn in proportion to n ** (1 - balance).
        assert all(abs(totals[key] - n ** (1 - balance)) < 1e-9 for key, n in sizes.items())

    everything = source()
    kept = source(family_fraction=0.5)
    whole = everything.train_set().characters + everything.val_set().characters
    part = kept.train_set().characters + kept.val_set().characters
    families = {family(c) for c in part}
    assert part == [c for c in whole if family(c) in families]  # whole families, in order
    assert 0.3 < len(families) / len({family(c) for c in whole}) < 0.7


@needs_font
def test_settings_that_leave_no_training_emoji_say_which_to_raise(tmp_path):
    source = EmojiSource(EmojiConfig(image_size=16, cache_dir=str(tmp_path), limit=40, family_fraction=0.001))
    with pytest.raises(ConfigError, match="no training emoji are left: limit 40 and family_fraction 0.001 keep 0 emoji.*raise data.limit or data.family_fraction"):
        source.train_set()


def test_missing_unicode_files_name_the_packages(tmp_path):
    with pytest.raises(ConfigError, match="apt-get install unicode-cldr-core unicode-data"):
        keyword_caption("\U0001F606", str(tmp_path))
    with pytest.raises(ConfigError, match="apt-get install unicode-cldr-core unicode-data"):
        EmojiSource(EmojiConfig(captions=["name", "group"], unicode_dir=str(tmp_path)))  # as the source is made
    EmojiSource(EmojiConfig(unicode_dir=str(tmp_path)))  # names alone need neither package


def test_a_caption_kind_given_twice_is_refused():
    with pytest.raises(ValueError, match="lists a caption kind twice"):
        EmojiConfig(captions=["name", "name"])
