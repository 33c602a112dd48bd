"""gate.configfile: the one writer of the configuration file (gate config set, the setup page, the
venue card): comments kept, every problem named, nothing written unless the result is valid."""

from __future__ import annotations

from pathlib import Path

from gate.config import load_config
from gate.configfile import edit_config, parse_value
from tests.setup.kit import write_gate


def gate_file(tmp_path: Path, pki) -> Path:
    return write_gate(tmp_path / "etc", pki.trust_dir, "")


def test_venue_keys_are_written_keeping_every_comment(tmp_path, pki):
    path = gate_file(tmp_path, pki)
    before = path.read_text()
    result = edit_config(path, {"venue.id": "mall-3", "venue.type": "public_place", "venue.community_codes": []})
    assert result.ok and set(result.changed) == {"venue.id", "venue.type", "venue.community_codes"}
    after = path.read_text()
    assert after.count("#") == before.count("#") and "# residential | public_place" in after
    cfg = load_config(path)
    assert (cfg.venue.id, cfg.venue.type, cfg.venue.community_codes) == ("mall-3", "public_place", ())


def test_every_wrong_value_is_named_and_nothing_is_written(tmp_path, pki):
    path = gate_file(tmp_path, pki)
    before = path.read_bytes()
    result = edit_config(path, {"venue.type": "mall", "temperature.fever_c": 45})
    assert len(result.errors) >= 2 and all("\n" not in e for e in result.errors)
    assert path.read_bytes() == before


def test_a_file_the_gate_could_not_start_with_is_refused_unless_only_validity_is_asked(tmp_path, pki):
    path = gate_file(tmp_path, pki)
    (tmp_path / "etc" / "keys" / "device.key").unlink()
    before = path.read_bytes()
    refused = edit_config(path, {"venue.type": "metro"})
    assert refused.errors and path.read_bytes() == before
    assert edit_config(path, {"venue.type": "metro"}, startable=False).ok  # gate config set repairs step by step
    assert load_config(path).venue.type == "metro"


def test_a_dry_run_checks_without_writing(tmp_path, pki):
    path = gate_file(tmp_path, pki)
    before = path.read_bytes()
    assert edit_config(path, {"venue.type": "metro"}, dry_run=True).changed == {"venue.type": ("residential", "metro")}
    assert path.read_bytes() == before


def test_values_typed_by_a_technician_are_read_as_toml_except_for_text_keys():
    assert parse_value("temperature.fever_c", "37.5") == 37.5
    assert parse_value("camera.source", "0") == "0"


def test_keys_changed_together_are_judged_together(tmp_path, pki):
    """A residential gate becoming a mall with no community codes: each change alone would be
    refused (a residential gate needs its codes), together they are a valid file."""
    path = gate_file(tmp_path, pki)
    assert edit_config(path, {"venue.type": "public_place", "venue.community_codes": []}).ok
