"""`gate replay`: events through the kiosk's path, one JSON line each, nothing lost on kill -9."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from click.testing import CliRunner

from gate.cli import main
from tests.pki import NOW, VECTORS

CONFIG = """
[device]
id = "gate-replay-1"
[venue]
id = "360102-012-north"
type = "{venue}"
community_codes = ["360102-012"]
[temperature]
sensor = "simulated"
[trust]
dir = "{trust}"
[store]
path = "{store}"
"""


def write_config(tmp_path: Path, trust: Path, venue: str = "residential") -> Path:
    path = tmp_path / "gate.toml"
    path.write_text(CONFIG.format(venue=venue, trust=trust, store=tmp_path / "var" / "scans.db"))
    return path


def replay(config: Path, events: list[object], tmp_path: Path, db: Path | None = None):
    path = tmp_path / "events.jsonl"
    path.write_text("".join((e if isinstance(e, str) else json.dumps(e)) + "\n" for e in events))
    args = ["replay", "--config", str(config), "--events", str(path)]
    if db is not None:
        args += ["--db", str(db)]
    result = CliRunner().invoke(main, args)
    return result, [json.loads(line) for line in result.stdout.splitlines()]


def test_shared_vectors_replayed_at_a_metro_gate(tmp_path, vectors):
    config = write_config(tmp_path, VECTORS / "trust", "metro")
    events = [{"t": v["now"], "qr": v["qr"], "temp_c": 36.5} for v in vectors["vectors"]]
    result, lines = replay(config, events, tmp_path)
    assert result.exit_code == 0, result.output
    assert len(lines) == len(events)
    for vector, line in zip(vectors["vectors"], lines):
        expect = vector["expect"]
        if vector["qr"].startswith(("HC1:", "shc:/")):  # a DCC or SHC since credentials.md: its format judges
            assert line["decision"] == "deny" and line["reasons"][0] == "code_invalid"
            continue
        if not expect["valid"]:
            assert line["decision"] == "deny" and line["reasons"][:2] == ["code_invalid", expect["reason"]]
        elif expect["status"] == "red":
            assert line["decision"] == "hold"
        elif expect["status"] == "yellow":
            assert line["decision"] == "deny"
        elif expect.get("itinerary_risk"):
            assert line["decision"] == "hold"
        else:
            assert line["decision"] == "allow", vector["name"]
        assert line["relay_pulsed"] == (line["decision"] == "allow")
        assert line["record_id"]
    conn = sqlite3.connect(tmp_path / "var" / "scans.db")
    assert conn.execute("SELECT count(*) FROM records").fetchone()[0] == len(events)


def test_each_event_uses_its_own_time_and_temperature(tmp_path, pki):
    config = write_config(tmp_path, pki.trust_dir)
    qr = pki.code("green")
    result, lines = replay(config, [
        {"t": NOW, "qr": qr, "temp_c": 37.6},
        {"t": NOW + 60, "qr": qr, "temp_c": 37.7},
        {"t": NOW + 120, "qr": qr},
        {"t": NOW + 10**6, "qr": qr, "temp_c": 36.5},
    ], tmp_path)
    assert [line["decision"] for line in lines] == ["recheck", "refer", "manual", "deny"]
    assert lines[3]["code"]["reason"] == "expired"


def test_bad_event_lines_are_reported_and_the_replay_goes_on(tmp_path, pki):
    config = write_config(tmp_path, pki.trust_dir)
    result, lines = replay(config, ["not json", {"qr": "x"}, {"t": NOW, "qr": pki.code(), "temp_c": "hot"},
                                    {"t": NOW, "qr": pki.code(), "temp_c": 36.6}], tmp_path)
    assert [line.get("error", "")[:6] for line in lines[:3]] == ["line 1", "line 2", "line 3"]
    assert lines[3]["decision"] == "allow"
    assert result.exit_code == 0


def test_an_image_event_is_decoded_by_the_vision_chain(tmp_path, pki):
    import cv2

    from gate.vision.synthetic import code_picture

    config = write_config(tmp_path, pki.trust_dir)
    cv2.imwrite(str(tmp_path / "phone.png"), code_picture(pki.code("green")))
    result, lines = replay(config, [{"t": NOW, "image": "phone.png", "temp_c": 36.4}], tmp_path)
    assert lines[0]["decision"] == "allow", result.output


def test_a_bad_configuration_is_one_line_and_exit_2(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('[venue]\ntype = "mall"\nid = "x"\n[device]\nid = "y"\n')
    result = CliRunner().invoke(main, ["replay", "--config", str(bad), "--events", str(bad)])
    assert result.exit_code == 2
    assert "mall" in result.output


def test_kill_9_during_a_long_replay_loses_no_printed_record(tmp_path, pki):
    config = write_config(tmp_path, pki.trust_dir)
    codes = [pki.code("green", subject=f"p{i}") for i in range(50)]
    events = tmp_path / "many.jsonl"
    events.write_text("".join(json.dumps({"t": NOW + i, "qr": codes[i % 50], "temp_c": 36.5}) + "\n" for i in range(5000)))
    child = subprocess.Popen([sys.executable, "-m", "gate.cli", "replay", "--config", str(config), "--events", str(events)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    printed = []
    deadline = time.monotonic() + 30
    while len(printed) < 200 and time.monotonic() < deadline:
        line = child.stdout.readline()
        if not line:
            break
        printed.append(json.loads(line)["record_id"])
    child.send_signal(signal.SIGKILL)
    rest, _ = child.communicate(timeout=10)
    printed += [json.loads(line)["record_id"] for line in rest.splitlines() if line.strip()]
    assert len(printed) >= 100
    conn = sqlite3.connect(tmp_path / "var" / "scans.db")
    assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    stored = {row[0] for row in conn.execute("SELECT id FROM records")}
    assert set(printed) <= stored


def _read_only_copy(tmp_path: Path, pki):
    """A store folder (with a store, trust cache and floor in it) on a real read-only bind mount."""
    from tests.store.storekit import mounted, run as _run

    source = tmp_path / "rw"
    source.mkdir()
    config = write_config(tmp_path, pki.trust_dir)
    first, _ = replay(config, [{"t": NOW, "qr": pki.code("green"), "temp_c": 36.5}], tmp_path, db=source / "scans.db")
    assert first.exit_code == 0
    mount = mounted(tmp_path / "ro", "--bind", str(source))
    ro = mount.__enter__()
    if _run("mount", "-o", "remount,bind,ro", str(ro)).returncode != 0:
        mount.__exit__(None, None, None)
        import pytest

        pytest.skip("a read-only bind mount is not permitted here")
    return config, ro, mount


def test_a_store_on_a_read_only_file_system_is_one_line_and_exit_2(tmp_path, pki):
    config, ro, mount = _read_only_copy(tmp_path, pki)
    try:
        events = tmp_path / "events.jsonl"
        events.write_text(json.dumps({"t": NOW, "qr": pki.code("green"), "temp_c": 36.5}) + "\n")
        done = subprocess.run([sys.executable, "-m", "gate.cli", "replay", "--config", str(config), "--events",
                               str(events), "--db", str(ro / "scans.db")], capture_output=True, text=True)
        assert done.returncode == 2
        assert "Traceback" not in done.stderr
        assert done.stderr.splitlines()[-1].startswith("Cannot open the record store: store ")
        assert done.stdout == ""
    finally:
        mount.__exit__(None, None, None)


def test_gate_run_headless_on_a_read_only_store_is_one_line_and_exit_2(tmp_path, pki):
    import cv2
    import numpy as np

    from gate.codes import keys as keylib

    config, ro, mount = _read_only_copy(tmp_path, pki)
    try:
        frames = tmp_path / "frames"
        frames.mkdir()
        cv2.imwrite(str(frames / "0001.png"), np.full((48, 64, 3), 128, np.uint8))
        keylib.write_private_key(tmp_path / "device.key", keylib.generate("EdDSA"))
        text = config.read_text().replace(str(tmp_path / "var" / "scans.db"), str(ro / "scans.db"))
        config.write_text(text.replace('id = "gate-replay-1"', 'id = "gate-replay-1"\nkey = "device.key"')
                          + f'[camera]\nsource = "{frames}"\n')
        done = subprocess.run([sys.executable, "-m", "gate.cli", "run", "--config", str(config), "--headless"],
                              capture_output=True, text=True, timeout=60)
        assert done.returncode == 2, done.stderr
        assert "Traceback" not in done.stderr
        assert done.stderr.splitlines()[-1].startswith("Cannot open the record store: store ")
    finally:
        mount.__exit__(None, None, None)


def test_a_red_listed_person_is_not_let_in_when_the_status_list_fails_its_signature(tmp_path, pki):
    from tests.pki import subject_id

    pki.write_status_list(2, [("CN-JX", subject_id("mallory"), 2, NOW - 10)])
    (pki.trust_dir / "statuslist.json").write_bytes(pki.status_list(2, []))  # the entry cut after signing
    config = write_config(tmp_path, pki.trust_dir, "metro")
    result, lines = replay(config, [{"t": NOW, "qr": pki.code("green", subject="mallory"), "temp_c": 36.5}], tmp_path)
    assert result.exit_code == 0
    assert lines[0]["decision"] == "manual" and lines[0]["reasons"][-1] == "status_list_missing"
    assert lines[0]["relay_pulsed"] is False
    from gate.store import Store

    with Store(tmp_path / "var" / "scans.db") as store:
        [record] = store.pending(10)
    assert record.faults == ["status_list_missing"]
