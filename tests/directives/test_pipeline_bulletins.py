"""The gate decides under the bulletin in force: from its effective_at on, with no restart, and a
refused bulletin (rollback, issuer-signed, unknown key) or one not meant for this gate changes nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from gate.config import Config, DeviceConfig, IOConfig, StoreConfig, TemperatureConfig, TrustConfig, VenueConfig
from gate.directives.book import BULLETIN_FILE, BulletinBook
from gate.directives.bulletin import BulletinError
from gate.hardware.thermometer import Reading, SimulatedThermometer
from gate.pipeline import open_pipeline
from gate.store import Store
from tests.directives.conftest import bulletin_bytes, sign
from tests.pki import NOW
from tests.screenkit import RecordingScreen

NORMAL = Reading(36.5)
ITINERARY_OFF = [{"scope": {"venue_types": ["residential"]}, "set": {"venue.itinerary_check": False}}]


class Clock:
    """The system clock the pipeline is given, moved by the test."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock(NOW)


@pytest.fixture
def config(dpki, tmp_path) -> Config:
    return Config(
        device=DeviceConfig(id="gate-test-1"),
        venue=VenueConfig(id="360102-012-north", type="residential", community_codes=("360102-012",)),
        temperature=TemperatureConfig(sensor="simulated"),
        trust=TrustConfig(dir=dpki.trust_dir),
        store=StoreConfig(path=tmp_path / "state" / "scans.db"),
        io=IOConfig(),
    )


@pytest.fixture
def pipeline(config, clock):
    p = open_pipeline(config, simulated_io=True, thermometer=SimulatedThermometer(36.5), persist_floor=False,
                      clock=clock, body_options={"timer": False})
    yield p
    p.close()


@pytest.fixture
def sync_book(dpki, config) -> BulletinBook:
    """The sync process's side: it accepts fetched bulletins into the gate's state folder (beside
    the record store), with a copy in the trust folder."""
    return BulletinBook(dpki.trust_dir, state_dir=config.store.path.parent)


def publish(book: BulletinBook, key, trust_list, **kwargs) -> None:
    data = bulletin_bytes(**kwargs)
    book.accept(data, sign(key, data), trust_list, NOW)


def risky(dpki, subject: str = "alice") -> str:
    """A green code whose holder travelled through a risk area: held while itineraries are checked."""
    return dpki.code("green", subject=subject, itinerary_risk=True)


def stored(path: Path, ids: list[str]) -> list[dict]:
    """The records as the store kept them (read through a second connection, as sync does)."""
    with Store(path) as store:
        return [store.get(i).to_json() for i in ids]


def test_a_bulletin_applies_at_effective_at_and_not_before(pipeline, dpki, sync_book, directive_key,
                                                           trust_list, clock):
    publish(sync_book, directive_key, trust_list, version=3, effective_at=NOW + 600, settings=ITINERARY_OFF)
    before = pipeline.scan(risky(dpki), NORMAL)
    assert (before.decision.decision, before.record.bulletin_version) == ("hold", 0)
    assert "itinerary_risk" in before.decision.reasons
    clock.now = NOW + 599
    assert pipeline.scan(risky(dpki, "bob"), NORMAL).decision.decision == "hold"
    clock.now = NOW + 600
    after = pipeline.scan(risky(dpki, "carol"), NORMAL)
    assert (after.decision.decision, after.record.bulletin_version) == ("allow", 3)
    assert "itinerary_not_checked" in after.decision.reasons
    assert pipeline.config.venue.itinerary_check is True  # the file's setting is untouched


def test_every_record_carries_the_bulletin_version(pipeline, dpki, sync_book, directive_key, trust_list, config):
    first = pipeline.scan(dpki.code("green"), NORMAL)
    publish(sync_book, directive_key, trust_list, version=7, settings=[
        {"scope": {"venue_types": ["metro"]}, "set": {"temperature.fever_c": 37.5}}])
    second = pipeline.scan(dpki.code("green", subject="bob"), NORMAL)
    kept = stored(config.store.path, [first.record.id, second.record.id])
    assert [r["bulletin_version"] for r in kept] == [0, 7]
    assert (first.record.bulletin_version, second.record.bulletin_version) == (0, 7)


def test_a_newer_bulletin_written_by_sync_is_applied_by_the_next_scan(pipeline, dpki, sync_book, directive_key,
                                                                      trust_list):
    publish(sync_book, directive_key, trust_list, version=1, settings=ITINERARY_OFF)
    assert pipeline.scan(risky(dpki), NORMAL).decision.decision == "allow"
    publish(sync_book, directive_key, trust_list, version=2, settings=[
        {"scope": {}, "set": {"venue.itinerary_check": True}}])
    outcome = pipeline.scan(risky(dpki, "bob"), NORMAL)
    assert (outcome.decision.decision, outcome.record.bulletin_version) == ("hold", 2)


def test_the_fever_threshold_of_a_bulletin_decides(pipeline, dpki, sync_book, directive_key, trust_list):
    assert pipeline.scan(dpki.code("green"), Reading(37.5)).decision.temperature_state == "abnormal"
    publish(sync_book, directive_key, trust_list, version=1, settings=[
        {"scope": {"venue_id_prefixes": ["3601"]}, "set": {"temperature.fever_c": 37.8}}])
    outcome = pipeline.scan(dpki.code("green", subject="bob"), Reading(37.5))
    assert (outcome.decision.decision, outcome.decision.temperature_state) == ("allow", "normal")


def test_a_bulletin_for_other_gates_leaves_the_gate_deciding_as_it_was(pipeline, dpki, sync_book, directive_key,
                                                                      trust_list):
    publish(sync_book, directive_key, trust_list, version=6, settings=[
        {"scope": {"venue_types": ["residential"], "venue_id_prefixes": ["3602"]},
         "set": {"venue.itinerary_check": False}},
        {"scope": {"device_ids": ["gate-elsewhere"]}, "set": {"venue.itinerary_check": False}},
        {"scope": {"venue_types": ["metro", "public_place"]}, "set": {"venue.itinerary_check": False}}])
    outcome = pipeline.scan(risky(dpki), NORMAL)
    assert (outcome.decision.decision, outcome.record.bulletin_version) == ("hold", 6)


@pytest.mark.parametrize("case", ["rollback", "issuer_signed", "unknown_key", "out_of_range"])
def test_what_a_bulletin_may_not_do_leaves_the_gate_deciding_as_it_was(case, pipeline, dpki, sync_book,
                                                                       directive_key, trust_list):
    publish(sync_book, directive_key, trust_list, version=5, settings=ITINERARY_OFF)
    assert pipeline.scan(risky(dpki), NORMAL).decision.decision == "allow"
    settings = [{"scope": {}, "set": {"venue.itinerary_check": True}}]
    key, version = directive_key, 6
    if case == "rollback":
        version = 4
    elif case == "issuer_signed":
        key = dpki.jx.private_key
    elif case == "unknown_key":
        settings = [{"scope": {}, "set": {"venue.itinerary_check": True, "venue.type": "metro"}}]
    elif case == "out_of_range":
        settings = [{"scope": {}, "set": {"temperature.fever_c": 45.0}}]
    data = bulletin_bytes(version=version, settings=settings)
    with pytest.raises(BulletinError):
        sync_book.accept(data, sign(key, data), trust_list, NOW)
    outcome = pipeline.scan(risky(dpki, "bob"), NORMAL)
    assert (outcome.decision.decision, outcome.record.bulletin_version) == ("allow", 5)


def test_an_issuer_signed_bulletin_file_put_in_the_folder_is_not_applied(pipeline, dpki, config):
    data = bulletin_bytes(version=9, settings=ITINERARY_OFF)
    (dpki.trust_dir / BULLETIN_FILE).write_bytes(data)
    (dpki.trust_dir / (BULLETIN_FILE + ".sig")).write_text(sign(dpki.jx.private_key, data))
    outcome = pipeline.scan(risky(dpki), NORMAL)
    assert (outcome.decision.decision, outcome.record.bulletin_version) == ("hold", 0)


def test_a_bulletin_kept_by_sync_is_in_force_after_a_restart(config, clock, dpki, sync_book, directive_key,
                                                            trust_list):
    publish(sync_book, directive_key, trust_list, version=4, settings=ITINERARY_OFF)
    p = open_pipeline(config, simulated_io=True, thermometer=SimulatedThermometer(36.5), persist_floor=False,
                      clock=clock, body_options={"timer": False})
    try:
        assert p.idle_view() == {"bulletin": {"version": 4, "effective_at": NOW - 60, "note": "test"}}
        assert p.scan(risky(dpki), NORMAL).record.bulletin_version == 4
    finally:
        p.close()


def test_the_idle_view_shows_the_bulletin_in_force_not_the_one_held(pipeline, sync_book, directive_key,
                                                                    trust_list, clock):
    assert pipeline.idle_view() == {"bulletin": None}
    publish(sync_book, directive_key, trust_list, version=2, effective_at=NOW + 10, note="itinerary checks off")
    assert pipeline.idle_view() == {"bulletin": None}
    assert pipeline.bulletin_summary()["held"]["version"] == 2
    clock.now = NOW + 10
    assert pipeline.idle_view()["bulletin"] == {"version": 2, "effective_at": NOW + 10,
                                                "note": "itinerary checks off"}


def test_withdrawing_the_directive_key_ends_the_bulletin(pipeline, dpki, sync_book, directive_key, trust_list):
    publish(sync_book, directive_key, trust_list, version=1, settings=ITINERARY_OFF)
    assert pipeline.scan(risky(dpki), NORMAL).record.bulletin_version == 1
    dpki.directive_entries.clear()
    data = dpki.trust_list(2)
    pipeline.trust.apply_trust_list(data, dpki.sign(data))
    outcome = pipeline.scan(risky(dpki, "bob"), NORMAL)
    assert (outcome.decision.decision, outcome.record.bulletin_version) == ("hold", 0)


def test_the_kiosks_idle_screen_follows_the_bulletin_into_force_with_no_restart(config, dpki, sync_book,
                                                                                directive_key, trust_list,
                                                                                tmp_path):
    import cv2
    import numpy as np

    from gate.kiosk import FootageClock, Kiosk
    from gate.vision.sources import ImageFolderSource

    folder = tmp_path / "frames"
    folder.mkdir()
    for n in range(30):  # three seconds of an empty view, 0.1 s apart
        cv2.imwrite(str(folder / f"{n:04d}.png"), np.full((48, 64, 3), 200, np.uint8))
    footage_clock = FootageClock(NOW)
    publish(sync_book, directive_key, trust_list, version=2, effective_at=NOW + 1, note="itinerary checks off")
    pipeline = open_pipeline(config, simulated_io=True, thermometer=SimulatedThermometer(36.5), persist_floor=False,
                             clock=footage_clock, body_options={"timer": False})
    screen = RecordingScreen()
    try:
        Kiosk(pipeline, ImageFolderSource(folder), display=screen, footage_clock=footage_clock).run()
    finally:
        pipeline.close()
    idle = [s.get("bulletin") for s in screen.states if s["kind"] == "idle"]
    assert idle[0] is None
    assert idle[-1] == {"version": 2, "effective_at": NOW + 1, "note": "itinerary checks off"}
    assert idle.count(idle[-1]) == 1  # shown once when it came into force, not re-sent with every frame


def test_an_older_bulletin_put_back_in_the_trust_folder_is_not_applied_after_a_restart(
        pipeline, dpki, sync_book, directive_key, trust_list, config, clock):
    publish(sync_book, directive_key, trust_list, version=3, settings=[
        {"scope": {}, "set": {"venue.itinerary_check": True}}])
    old = (dpki.trust_dir / BULLETIN_FILE).read_bytes(), (dpki.trust_dir / "bulletin.json.sig").read_text()
    publish(sync_book, directive_key, trust_list, version=5, settings=ITINERARY_OFF)
    pipeline.close()
    (dpki.trust_dir / BULLETIN_FILE).write_bytes(old[0])
    (dpki.trust_dir / "bulletin.json.sig").write_text(old[1])
    again = open_pipeline(config, simulated_io=True, thermometer=SimulatedThermometer(36.5),
                          persist_floor=False, clock=clock, body_options={"timer": False})
    try:
        outcome = again.scan(risky(dpki), NORMAL)
        assert (outcome.decision.decision, outcome.record.bulletin_version) == ("allow", 5)
        summary = again.bulletin_summary()
        assert summary["in_force"]["version"] == 5
        assert summary["problems"] == [f"{dpki.trust_dir / BULLETIN_FILE}: version 3 is older than "
                                       "version 5 accepted (rollback refused)"]
    finally:
        again.close()
