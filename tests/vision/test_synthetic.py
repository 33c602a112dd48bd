"""The synthetic frame generator: deterministic, realistic texts, every kind of trouble."""

import numpy as np
import pytest

from gate.vision.decode import plausible
from gate.vision.synthetic import CATEGORIES, HEIGHT, WIDTH, frame, frames, jkm1_text


def test_same_category_and_seed_give_the_same_pixels():
    a, b = frame("glare", 7), frame("glare", 7)
    assert a.text == b.text
    assert np.array_equal(a.image, b.image)


def test_categories_and_seeds_give_different_frames():
    assert frame("glare", 7).text != frame("glare", 8).text
    assert frame("glare", 7).text != frame("tiny", 7).text


def test_frames_are_640x480_bgr_for_every_category():
    for f in frames([*CATEGORIES, "empty"], per_category=1, seed=3):
        assert f.image.shape == (HEIGHT, WIDTH, 3)
        assert f.image.dtype == np.uint8


def test_there_are_twelve_kinds_of_trouble():
    assert len(CATEGORIES) == 12


def test_texts_are_realistic_jkm1_and_empty_frames_have_none():
    text = jkm1_text(np.random.default_rng(1))
    assert text.startswith("JKM1:") and 210 <= len(text) <= 250
    assert plausible(text)
    assert frame("empty", 1).text == ""


def test_unknown_category_is_refused():
    with pytest.raises(ValueError, match="unknown frame category"):
        frame("fog", 1)
