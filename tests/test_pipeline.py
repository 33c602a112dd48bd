"""The decision path: the record is on disk before the gate moves, and a scan that cannot be
recorded keeps the gate shut."""

from __future__ import annotations

import dataclasses
import sqlite3
from pathlib import Path

import pytest

from gate.config import (
    Config,
    DeviceConfig,
    IOConfig,
    StoreConfig,
    TemperatureConfig,
    TrustConfig,
    VenueConfig,
    VoiceConfig,
)
from gate.hardware.speaker import RecordingPlayer, Speaker
from gate.vocabulary import saying
from gate.hardware.thermometer import Reading, SimulatedThermometer
from gate.pipeline import open_pipeline
from gate.store import Store
from tests.pki import NOW

NORMAL = Reading(36.5)
FEVER = Reading(38.1)


def with_store(config: Config, path: Path) -> Config:
    """The same configuration with its record store at `path`."""
    return dataclasses.replace(config, store=StoreConfig(path=path))


def make_config(pki, tmp_path: Path, venue_type: str = "residential", **venue: object) -> Config:
    return Config(
        device=DeviceConfig(id="gate-test-1"),
        venue=VenueConfig(id="360102-012-north", type=venue_type, community_codes=("360102-012",), **venue),
        temperature=TemperatureConfig(sensor="simulated"),
        trust=TrustConfig(dir=pki.trust_dir),
        store=StoreConfig(path=tmp_path / "state" / "scans.db"),
        io=IOConfig(),
    )


def simulated(config: Config):
    """The decision path on mock pins, with a simulated thermometer and no kept time floor."""
    return open_pipeline(config, simulated_io=True, thermometer=SimulatedThermometer(36.5), persist_floor=False,
                         body_options={"timer": False})


@pytest.fixture
def config(pki, tmp_path):
    return make_config(pki, tmp_path)


@pytest.fixture
def pipeline(config):
    p = simulated(config)
    yield p
    p.close()


def stored_ids(path: Path) -> list[str]:
    conn = sqlite3.connect(path)
    try:
        return [row[0] for row in conn.execute("SELECT id FROM records")]
    finally:
        conn.close()


def test_a_green_code_opens_the_gate_and_is_recorded(pipeline, pki, config):
    outcome = pipeline.scan(pki.code("green"), NORMAL, at=NOW)
    assert (outcome.decision.decision, outcome.relay_pulsed, outcome.committed) == ("allow", True, True)
    assert pipeline.body.relay_open
    assert stored_ids(config.store.path) == [outcome.record.id]
    assert outcome.record.trust_list_version == 1


def test_the_record_is_committed_before_the_relay_is_told(pipeline, pki, config):
    seen_on_disk = []
    show = pipeline.body.show

    def spy(decision: str, *speech) -> bool:
        seen_on_disk.append(list(stored_ids(config.store.path)))
        return show(decision, *speech)

    pipeline.body.show = spy
    outcome = pipeline.scan(pki.code("green"), NORMAL, at=NOW)
    assert seen_on_disk == [[outcome.record.id]]


@pytest.mark.parametrize(("status", "decision"), [("red", "hold"), ("yellow", "allow")])
def test_nothing_but_allow_moves_the_relay(pipeline, pki, status, decision):
    outcome = pipeline.scan(pki.code(status, home="360102-012" if status == "yellow" else None), NORMAL, at=NOW)
    assert outcome.decision.decision == decision
    assert pipeline.body.relay_open == (decision == "allow")


def test_a_forged_code_is_denied_recorded_and_keeps_the_gate_shut(pipeline, pki):
    qr = pki.code("green")
    forged = qr[:-8] + ("0" if qr[-8] != "0" else "1") + qr[-7:]
    outcome = pipeline.scan(forged, NORMAL, at=NOW)
    assert outcome.decision.decision == "deny"
    assert outcome.decision.reasons[0] == "code_invalid"
    assert outcome.committed and not pipeline.body.relay_open


def test_a_store_that_cannot_be_opened_denies_with_store_unavailable(pki, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    config = with_store(make_config(pki, tmp_path), blocker / "scans.db")
    p = simulated(config)
    try:
        outcome = p.scan(pki.code("green"), NORMAL, at=NOW)
        assert outcome.decision.decision == "deny"
        assert outcome.decision.reasons[-1] == "store_unavailable"
        assert (outcome.committed, outcome.relay_pulsed, p.body.relay_open) == (False, False, False)
        assert outcome.to_json()["record_id"] is None
    finally:
        p.close()


def test_a_full_disk_denies_with_store_unavailable_and_no_pulse(pki, tmp_path):
    from tests.store.storekit import mounted

    with mounted(tmp_path / "small", "-t", "tmpfs", "-o", "size=1m", "tmpfs") as disk:
        config = with_store(make_config(pki, tmp_path), disk / "scans.db")
        p = simulated(config)
        try:
            (disk / "filler").write_bytes(b"\0" * (1024 * 1024))
        except OSError:
            pass
        try:
            outcomes = [p.scan(pki.code("green", subject=f"p{i}"), NORMAL, at=NOW + i) for i in range(200)]
            failed = [o for o in outcomes if not o.committed]
            assert failed, "the disk never filled"
            for o in failed:
                assert o.decision.decision == "deny" and o.decision.reasons[-1] == "store_unavailable"
                assert not o.relay_pulsed
        finally:
            p.close()


def test_fever_twice_within_the_window_is_refer_even_across_a_restart(config, pki):
    first = simulated(config)
    assert first.scan(pki.code("green"), FEVER, at=NOW).decision.decision == "recheck"
    first.close()
    second = simulated(config)
    try:
        outcome = second.scan(pki.code("green"), FEVER, at=NOW + 300)
        assert outcome.decision.decision == "refer"
        assert outcome.record.alert
    finally:
        second.close()


def test_a_clock_below_the_lists_issued_at_is_not_trusted(pki, tmp_path):
    config = make_config(pki, tmp_path, strict_clock=True)
    p = simulated(config)
    try:
        outcome = p.scan(pki.code("green"), NORMAL, at=NOW - 86400 * 30)
        assert outcome.record.clock_trusted is False
        assert outcome.decision.decision == "manual"
    finally:
        p.close()


def test_the_attendant_override_is_recorded_before_the_gate_opens(pipeline, pki, config):
    outcome = pipeline.scan(pki.code("green"), Reading(None, state="sensor_fault"), at=NOW)
    assert outcome.decision.decision == "manual" and not pipeline.body.relay_open
    assert pipeline.body.override()
    assert pipeline.body.relay_open
    with Store(config.store.path) as store:
        records = store.pending(10)
    override = [r for r in records if r.override]
    assert len(override) == 1
    assert override[0].override == {"record_id": outcome.record.id, "overrode": "manual"}
    assert override[0].decision_reasons == ["attendant_override"]


def test_fire_release_is_written_on_every_record(pipeline, pki):
    pin = pipeline.body.pin_factory.pin(pipeline.config.io.fire_release_pin)
    pin.drive_low()
    try:
        outcome = pipeline.scan(pki.code("red"), NORMAL, at=NOW)
        assert outcome.record.fire_release is True
        assert outcome.decision.decision == "hold"
    finally:
        pin.drive_high()


def test_a_stale_trust_list_is_flagged_on_the_record(pipeline, pki):
    outcome = pipeline.scan(pki.code("green", iat=NOW + 40 * 86400), NORMAL, at=NOW + 40 * 86400)
    assert outcome.record.trust_list_stale is True


def test_the_override_lets_one_person_through_once(pipeline, pki):
    pipeline.scan(pki.code("green"), Reading(None, state="sensor_fault"), at=NOW)
    assert pipeline.body.override()
    pipeline.body.shut()
    assert not pipeline.body.override()
    assert not pipeline.body.relay_open


def test_a_store_that_failed_to_open_is_tried_again(pki, tmp_path, monkeypatch):
    import gate.store.holder as pipeline_module

    blocker = tmp_path / "later"
    blocker.write_text("in the way")
    config = with_store(make_config(pki, tmp_path), blocker / "scans.db")
    monkeypatch.setattr(pipeline_module, "STORE_RETRY_S", 0.0)
    p = simulated(config)
    try:
        assert p.scan(pki.code("green"), NORMAL, at=NOW).decision.reasons[-1] == "store_unavailable"
        blocker.unlink()
        assert p.scan(pki.code("green"), NORMAL, at=NOW + 1).decision.decision == "allow"
    finally:
        p.close()


# --- no status list in force (trust-list.md), and the faults every record carries ------------


def _without_status_list(pki) -> None:
    (pki.trust_dir / "statuslist.json").unlink()
    (pki.trust_dir / "statuslist.json.sig").unlink()


def test_a_green_code_is_not_admitted_by_a_gate_that_never_had_a_status_list(pki, tmp_path):
    _without_status_list(pki)
    p = simulated(make_config(pki, tmp_path))
    try:
        outcome = p.scan(pki.code("green"), NORMAL, at=NOW)
        assert outcome.decision.decision == "manual" and not outcome.relay_pulsed
        assert outcome.decision.reasons[-1] == "status_list_missing"
        assert outcome.record.faults == ["status_list_missing"]
        assert "status_list_missing" in p.faults()
    finally:
        p.close()


def test_a_red_listed_person_whose_entry_was_cut_after_signing_is_not_admitted(pki, tmp_path):
    from tests.pki import subject_id

    pki.write_status_list(2, [("CN-JX", subject_id("mallory"), 2, NOW - 10)])
    status = pki.trust_dir / "statuslist.json"
    status.write_bytes(pki.status_list(2, []))  # the red entry removed, the signature kept
    p = simulated(make_config(pki, tmp_path))
    try:
        outcome = p.scan(pki.code("green", subject="mallory", iat=NOW - 600), NORMAL, at=NOW)
        assert outcome.decision.decision == "manual" and not p.body.relay_open
    finally:
        p.close()


def test_every_record_names_the_faults_that_flag_it(pki, tmp_path):
    p = simulated(make_config(pki, tmp_path))
    try:
        fresh = p.scan(pki.code("green"), NORMAL, at=NOW)
        assert fresh.record.faults == []
        late = NOW + 40 * 86400  # trust list expired, status list 40 days old
        stale = p.scan(pki.code("green", iat=late - 600), NORMAL, at=late)
        assert stale.record.faults == ["status_list_stale", "trust_list_stale"]
        behind = p.scan(pki.code("green"), NORMAL, at=NOW - 86400 * 30)  # clock below the floor
        assert "clock_untrusted" in behind.record.faults
    finally:
        p.close()


def test_the_override_record_carries_the_faults_in_force_when_it_is_made(pki, tmp_path):
    _without_status_list(pki)
    p = simulated(make_config(pki, tmp_path))
    try:
        p.scan(pki.code("green"), NORMAL, at=NOW)
        p.clock = lambda: NOW + 5
        assert p.body.override()
        with Store(p.store_path) as store:
            [override] = [r for r in store.pending(10) if r.override]
        assert override.faults == ["status_list_missing"]
    finally:
        p.close()


def test_a_reading_that_is_not_a_body_asks_to_measure_again_and_is_recorded_as_none(pipeline, pki, config):
    pipeline.thermometer.set(24.0)  # the sensor sees a wall: the thermometer reports what it measured
    outcome = pipeline.scan(pki.code("green"), at=NOW)
    assert (outcome.decision.decision, outcome.decision.reasons[-1]) == ("manual", "temperature_out_of_range")
    assert "重新扫码" in outcome.decision.message_zh and "scan again" in outcome.decision.message_en
    assert outcome.reading.temperature_c is None and outcome.reading.state == "no_body"
    assert outcome.record.temperature_c is None
    assert outcome.record.temperature_state == "unavailable"
    assert outcome.record.temperature_raw == {"object_c": 24.0, "ambient_c": None}
    assert not outcome.relay_pulsed


# -- the voice ---------------------------------------------------------------------------------


def voiced(config: Config, player: RecordingPlayer, **voice: object):
    """The decision path on mock pins with a simulated speaker playing through `player`."""
    config = dataclasses.replace(config, voice=VoiceConfig(**voice))
    return open_pipeline(config, simulated_io=True, thermometer=SimulatedThermometer(36.5), persist_floor=False,
                         body_options={"timer": False, "speaker": Speaker(player, voice=config.voice)})


def test_each_decision_speaks_its_prompt_from_the_vocabulary(config, pki):
    player = RecordingPlayer()
    p = voiced(config, player, language="both")
    try:
        scans = [
            (pki.code("green"), NORMAL, NOW),  # allow
            ("HTTPS://EXAMPLE.COM/PAY?ID=42", NORMAL, NOW),  # deny: not a health code
            (pki.code("green", subject="wu"), FEVER, NOW),  # recheck
            (pki.code("green", subject="wu"), FEVER, NOW + 60),  # refer
            (pki.code("red"), NORMAL, NOW),  # hold
            (pki.code("green"), Reading(None, state="sensor_fault", error="x"), NOW),  # manual
        ]
        seen = []
        for qr, reading, at in scans:
            outcome = p.scan(qr, reading, at=at)
            assert p.body.speaker.wait_idle(5)
            said = saying(outcome.decision.decision, outcome.decision.reasons[-1], "residential")
            assert player.texts[-2:] == [said.prompt_zh, said.prompt_en]
            seen.append(outcome.decision.decision)
        assert seen == ["allow", "deny", "recheck", "refer", "hold", "manual"]
    finally:
        p.close()


def test_the_temperature_is_spoken_where_the_venue_sets_it(config, pki):
    player = RecordingPlayer()
    p = voiced(config, player, speak_temperature=True)
    try:
        p.scan(pki.code("green"), Reading(36.6), at=NOW)
        assert p.body.speaker.wait_idle(5)
        assert player.texts == ["体温三十六点六度", "请通行"]
    finally:
        p.close()


def test_the_relay_pulses_before_the_prompt_has_finished(config, pki):
    player = RecordingPlayer(blocking=True)  # a prompt that plays until released
    p = voiced(config, player)
    try:
        outcome = p.scan(pki.code("green"), NORMAL, at=NOW)
        assert outcome.relay_pulsed and p.body.relay_open  # scan returned with the prompt still held
        assert player.started.wait(5) and not p.body.speaker.wait_idle(0)
        player.release()
        assert p.body.speaker.wait_idle(5) and player.texts == ["请通行"]
    finally:
        p.close()


def test_a_missing_sound_card_is_a_body_fault_and_the_gate_still_decides(config, pki):
    player = RecordingPlayer(missing=True)
    p = voiced(config, player)
    try:
        assert p.body.faults == ["speaker_missing"]
        outcome = p.scan(pki.code("green"), NORMAL, at=NOW)
        assert outcome.relay_pulsed and outcome.committed and player.played == []
    finally:
        p.close()
