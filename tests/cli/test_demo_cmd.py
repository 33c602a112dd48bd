"""gate demo: footage kept between runs only while it is what the demo would make now."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

import gate.cli.demo_cmd as demo_cmd
from gate.demo import footage_plan

KEYS = Path(__file__).resolve().parents[2] / "keys" / "demo"


@pytest.fixture
def kept(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, list[Path]]:
    """A footage folder holding a video, and a record of every time footage is made anew."""
    video = tmp_path / "footage.mp4"
    video.write_bytes(b"a video")
    made: list[Path] = []
    monkeypatch.setattr(demo_cmd, "make_footage", lambda out_dir, keys: made.append(out_dir) or video)
    return video, made


def keep_script(video: Path, **script: object) -> None:
    (video.parent / "footage.json").write_text(json.dumps({"fps": 15, "people": [], **script}))


def test_fresh_footage_of_todays_plan_is_reused(kept):
    video, made = kept
    keep_script(video, start_epoch=time.time(), plan=footage_plan(KEYS))
    assert demo_cmd.footage_for(Path("demo.toml"), video, KEYS) == video and made == []


def test_footage_of_another_cast_or_other_keys_is_made_again(kept):
    video, made = kept
    keep_script(video, start_epoch=time.time(), plan="made before the cast changed")
    demo_cmd.footage_for(Path("demo.toml"), video, KEYS)
    keep_script(video, start_epoch=time.time())  # footage from before plans were kept
    demo_cmd.footage_for(Path("demo.toml"), video, KEYS)
    assert made == [video.parent, video.parent]


def test_old_footage_is_made_again(kept):
    video, made = kept
    keep_script(video, start_epoch=time.time() - demo_cmd.FOOTAGE_MAX_AGE_S - 60, plan=footage_plan(KEYS))
    demo_cmd.footage_for(Path("demo.toml"), video, KEYS)
    assert made == [video.parent]
