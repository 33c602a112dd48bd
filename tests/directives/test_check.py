"""The doctor's bulletin lines: the one in force with its note, the one held, refused files as WARN."""

from __future__ import annotations

import time

from gate.config import Config, StoreConfig, TrustConfig, VenueConfig
from gate.directives.book import BULLETIN_FILE
from gate.directives.check import bulletin_results
from gate.directives.keys import directive_entry
from gate.directives.watch import BulletinWatch
from gate.health import check_bulletin, run_checks
from tests.directives.conftest import bulletin_bytes, sign
from tests.pki import NOW


def gate_config(pki, tmp_path) -> Config:
    return Config(venue=VenueConfig(id="360102-012-north", type="residential"),
                  trust=TrustConfig(dir=pki.trust_dir), store=StoreConfig(path=tmp_path / "var" / "scans.db"))


def accept(pki, key, trust_list, now=NOW, **kwargs) -> None:
    data = bulletin_bytes(**kwargs)
    state_dir = gate_config(pki, pki.trust_dir.parent).store.path.parent
    BulletinWatch(pki.trust_dir, state_dir=state_dir, writable=True).accept(  # as sync does
        data, sign(key, data), trust_list, now)


def results(pki, trust_list, now=NOW):
    cfg = gate_config(pki, pki.trust_dir.parent)
    return bulletin_results(cfg, trust_list, now, state_dir=cfg.store.path.parent)


def test_no_bulletin_says_the_files_settings_apply(dpki, trust_list, tmp_path):
    [line] = results(dpki, trust_list)
    assert (line.name, line.level) == ("bulletin", "OK") and "file's settings apply" in line.message


def test_the_bulletin_in_force_and_the_one_held_are_shown_with_their_notes(dpki, directive_key, trust_list,
                                                                          tmp_path):
    accept(dpki, directive_key, trust_list, version=3, note="city notice 2026-41: itinerary checks off")
    accept(dpki, directive_key, trust_list, version=4, effective_at=NOW + 3600, note="back on tomorrow")
    in_force, held = results(dpki, trust_list)
    assert (in_force.name, in_force.level, in_force.details["version"]) == ("bulletin", "OK", 3)
    assert "v3 in force" in in_force.message and "venue.itinerary_check = false" in in_force.message
    assert "city notice 2026-41" in in_force.message
    assert (held.name, held.details["version"]) == ("bulletin.held", 4) and "back on tomorrow" in held.message


def test_a_file_in_the_trust_folder_that_does_not_verify_is_a_warning(dpki, directive_key, trust_list):
    accept(dpki, directive_key, trust_list, version=1)
    (dpki.trust_dir / BULLETIN_FILE).write_bytes(bulletin_bytes(version=1, note="tampered"))
    lines = results(dpki, trust_list)
    assert [(r.name, r.level) for r in lines] == [("bulletin.refused", "WARN"), ("bulletin", "OK")]
    assert "not in force" in lines[0].message and "v1 in force" in lines[1].message  # the kept one


def test_a_rolled_back_file_is_one_warning_line_and_the_kept_bulletin_stays(dpki, directive_key,
                                                                            trust_list):
    accept(dpki, directive_key, trust_list, version=3, note="three")
    old = (dpki.trust_dir / BULLETIN_FILE).read_bytes(), (dpki.trust_dir / "bulletin.json.sig").read_text()
    accept(dpki, directive_key, trust_list, version=5, note="five")
    (dpki.trust_dir / BULLETIN_FILE).write_bytes(old[0])
    (dpki.trust_dir / "bulletin.json.sig").write_text(old[1])
    refused, in_force = results(dpki, trust_list)
    assert (refused.name, refused.level) == ("bulletin.refused", "WARN")
    assert refused.message == (f"{dpki.trust_dir / BULLETIN_FILE}: version 3 is older than version 5 "
                               "accepted (rollback refused): not in force")
    assert "\n" not in refused.message
    assert "v5 in force" in in_force.message and "five" in in_force.message


def test_gate_doctor_runs_the_bulletin_check(pki, directive_key, tmp_path):
    now = time.time()
    pki.directive_entries.append(directive_entry(directive_key.public_key(), int(now) - 1000, int(now) + 10**6))
    pki.write_trust_list(1)
    from gate.codes.trust import parse_trust_list

    accept(pki, directive_key, parse_trust_list(pki.trust_list(1)), now, version=2, effective_at=int(now) - 60,
           note="itinerary checks off")
    cfg = gate_config(pki, pki.trust_dir.parent)
    [line] = check_bulletin(cfg)
    assert line.level == "OK" and "v2 in force" in line.message and "itinerary checks off" in line.message
    assert "bulletin" in [r.name for r in run_checks(cfg, [check_bulletin])]
