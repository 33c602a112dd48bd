"""Debounce: reads become scans; a code held in view is one scan; a new code is a scan at once."""

import cv2
import pytest

from gate.vision.decode import Debouncer, QRDecoder
from gate.vision.sources import VideoFileSource
from gate.vision.synthetic import frame


def test_first_sighting_is_a_scan():
    assert Debouncer(3.0).new_scans(["A"], 0.0) == ["A"]


def test_code_held_in_view_does_not_retrigger_however_long():
    d = Debouncer(3.0)
    scans = [d.new_scans(["A"], i / 10) for i in range(200)]  # 20 s in view
    assert scans[0] == ["A"]
    assert all(s == [] for s in scans[1:])


def test_same_code_again_within_debounce_is_the_same_scan():
    d = Debouncer(3.0)
    d.new_scans(["A"], 10.0)
    assert d.new_scans([], 11.0) == []
    assert d.new_scans(["A"], 12.9) == []


def test_same_code_again_after_debounce_is_a_new_scan():
    d = Debouncer(3.0)
    d.new_scans(["A"], 10.0)
    assert d.new_scans(["A"], 13.5) == ["A"]


def test_a_different_code_is_a_new_scan_at_once():
    d = Debouncer(3.0)
    d.new_scans(["A"], 10.0)
    assert d.new_scans(["B"], 10.1) == ["B"]
    assert d.new_scans(["A", "B"], 10.2) == []


def test_duplicates_in_one_frame_count_once():
    assert Debouncer(3.0).new_scans(["A", "A"], 0.0) == ["A"]


def test_time_going_backwards_starts_over():
    d = Debouncer(3.0)
    d.new_scans(["A"], 100.0)
    assert d.new_scans(["A"], 5.0) == ["A"]


def test_reset_forgets():
    d = Debouncer(3.0)
    d.new_scans(["A"], 0.0)
    d.reset()
    assert d.new_scans(["A"], 0.1) == ["A"]


def test_negative_debounce_is_refused():
    with pytest.raises(ValueError):
        Debouncer(-1)


def _readable(category: str, start: int, decoder: QRDecoder):
    """The first frame of this category, from seed start on, that the chain reads."""
    for seed in range(start, start + 20):
        f = frame(category, seed)
        if decoder.decode(f.image) == [f.text]:
            return f
    raise AssertionError("no readable frame")


def test_scans_on_a_video_sequence(tmp_path):
    """A held 1 s, gone 0.5 s, A again, B 1 s, nothing 3.5 s, A again: scans A, B, A."""
    decoder = QRDecoder(budget_ms=1000)
    a = _readable("rotation", 0, decoder)
    b = _readable("low_contrast", 0, decoder)
    blank = frame("empty", 0)
    timeline = [a] * 10 + [blank] * 5 + [a] * 5 + [b] * 10 + [blank] * 35 + [a] * 5
    path = tmp_path / "gate.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, (640, 480))
    for f in timeline:
        writer.write(f.image)
    writer.release()

    debouncer = Debouncer(3.0)
    scans = []
    with VideoFileSource(path) as source:
        for fr in source:
            for text in debouncer.new_scans(decoder.decode(fr.image), fr.t):
                scans.append((text, round(fr.t, 1)))
    assert scans == [(a.text, 0.0), (b.text, 2.0), (a.text, 6.5)]
