"""gate scan-image: one line per image with every QR text found; bad files reported, run goes on."""

import json

import cv2
import pytest
from click.testing import CliRunner

from gate.cli import main
from gate.vision.synthetic import frame


@pytest.fixture
def images(tmp_path):
    coded = frame("rotation", 1)
    cv2.imwrite(str(tmp_path / "code.png"), coded.image)
    cv2.imwrite(str(tmp_path / "empty.jpg"), frame("empty", 1).image)
    (tmp_path / "broken.png").write_bytes(b"not an image")
    return tmp_path, coded.text


def test_json_line_per_image_with_codes_and_time(images):
    d, text = images
    result = CliRunner().invoke(main, ["scan-image", "--json", str(d / "code.png"), str(d / "empty.jpg")])
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["file"] for r in lines] == [str(d / "code.png"), str(d / "empty.jpg")]
    assert lines[0]["codes"] == [text] and lines[1]["codes"] == []
    assert all(isinstance(r["ms"], float) and r["ms"] >= 0 for r in lines)


def test_unreadable_images_are_reported_one_line_each_and_the_run_goes_on(images):
    d, text = images
    result = CliRunner().invoke(
        main, ["scan-image", "--json", str(d / "broken.png"), str(d / "missing.png"), str(d / "code.png")]
    )
    assert result.exit_code == 1
    err = result.stderr.strip().splitlines()
    assert len(err) == 2
    assert "broken.png" in err[0] and "not an image" in err[0]
    assert "missing.png" in err[1] and "no such file" in err[1]
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r.get("error") for r in lines] == ["unreadable_image", "unreadable_image", None]
    assert lines[2]["codes"] == [text]


def test_readable_output_without_json(images):
    d, text = images
    result = CliRunner().invoke(main, ["scan-image", str(d / "code.png"), str(d / "empty.jpg")])
    assert result.exit_code == 0
    assert "code.png: 1 QR code" in result.stdout and text in result.stdout
    assert "empty.jpg: no QR code" in result.stdout


def test_no_image_is_a_usage_error():
    result = CliRunner().invoke(main, ["scan-image"])
    assert result.exit_code == 2
