"""`gate collector venue-card` and `gate keys new directive / trustlist --directive / bulletin`."""

import json
import subprocess
import sys
import time
from pathlib import Path

import cv2
from click.testing import CliRunner

from gate.cli.venue_card_cmd import venue_card
from gate.codes.trust import TrustStore
from gate.directives.book import BulletinBook
from gate.directives.venue_card import read_card
from gate.vision.decode import QRDecoder

GATE = [sys.executable, "-m", "gate.cli"]


def gate(*args, cwd=None):
    return subprocess.run([*GATE, *map(str, args)], capture_output=True, text=True, cwd=cwd)


def test_directive_key_delegated_signs_a_card_and_a_bulletin_a_gate_accepts(tmp_path: Path):
    for kind, name in (("anchor", "anchor"), ("issuer", "issuer"), ("directive", "directive")):
        assert gate("keys", "new", kind, "--out", tmp_path / f"{name}.key").returncode == 0
    trust = tmp_path / "trust"
    (trust / "anchors").mkdir(parents=True)
    (trust / "anchors" / "anchor.pem").write_bytes((tmp_path / "anchor.pem").read_bytes())
    made = gate("keys", "trustlist", "--anchor", tmp_path / "anchor.key", "--out", trust / "trustlist.json",
                "--version", 1, "--issuer", f"CN-JX={tmp_path / 'issuer.pem'}",
                "--directive", tmp_path / "directive.pem")
    assert made.returncode == 0, made.stderr
    store = TrustStore(trust)
    assert len(store.trust_list.directive_keys) == 1

    result = CliRunner().invoke(venue_card, ["--venue-id", "360102-012-north", "--type", "residential",
                                             "--community", "360102-012", "--device", "gate-a",
                                             "--key", str(tmp_path / "directive.key"),
                                             "--out", str(tmp_path / "card.png"),
                                             "--db", f"sqlite:///{tmp_path / 'collector.db'}"])
    assert result.exit_code == 0, result.output
    from gate.collector import django_db
    from gate.collector.models import AuditEntry

    with django_db.activate(django_db.database_alias(f"sqlite:///{tmp_path / 'collector.db'}")):
        [entry] = AuditEntry.objects.filter(action="venue_card.issue")
        assert entry.what["venue_type"] == "residential" and entry.username.startswith("cli:")
    [text] = QRDecoder().decode(cv2.imread(str(tmp_path / "card.png")))
    assert read_card(text, store.trust_list, "gate-a", time.time()).venue_type == "residential"

    setting = json.dumps({"scope": {"venue_types": ["residential"]}, "set": {"venue.itinerary_check": False}})
    made = gate("keys", "bulletin", "--key", tmp_path / "directive.key", "--out", tmp_path / "bulletin.json",
                "--version", 2, "--note", "itinerary checks off", "--setting", setting)
    assert made.returncode == 0, made.stderr
    book = BulletinBook(trust)
    assert book.accept((tmp_path / "bulletin.json").read_bytes(), (tmp_path / "bulletin.json.sig").read_text(),
                       store.trust_list, time.time())


def test_a_bulletin_a_gate_would_refuse_is_not_written(tmp_path: Path):
    gate("keys", "new", "directive", "--out", tmp_path / "directive.key")
    bad = json.dumps({"scope": {}, "set": {"venue.type": "metro"}})
    made = gate("keys", "bulletin", "--key", tmp_path / "directive.key", "--out", tmp_path / "b.json",
                "--version", 1, "--setting", bad)
    assert made.returncode == 2 and "may not set" in made.stderr and len(made.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "b.json").exists()


def test_venue_card_without_a_key_is_one_line(tmp_path: Path):
    result = CliRunner().invoke(venue_card, ["--venue-id", "v", "--type", "metro", "--key", str(tmp_path / "none.key"),
                                             "--out", str(tmp_path / "c.png"), "--db", f"sqlite:///{tmp_path / 'c.db'}"])
    assert result.exit_code == 2 and "gate keys new directive" in result.output
