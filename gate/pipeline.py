"""One scan after the camera: verify, measure, decide, record, then move the gate.

The same path serves the kiosk (`gate run`), `gate replay` and the benchmarks. Its order is the
product's promise: the record is committed durably before the relay is told anything, and a scan
that cannot be recorded becomes `deny` / `store_unavailable` with the gate shut.
"""

from __future__ import annotations

import dataclasses
import logging
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from gate.clock import GateTime, TimeFloor
from gate.codes.result import VerifyResult
from gate.codes.trust import TrustStore
from gate.codes.formats import verify
from gate.config import Config
from gate.credentials.rules import RuleSet, RuleSetError, Verdict, judge, load_rule_set
from gate.directives.watch import BulletinWatch
from gate.faults import fault, record_flags
from gate.hardware.body import GateBody
from gate.hardware.thermometer import Reading, Thermometer
from gate.policy import Decision, decide, refuse
from gate.record import Record, code_summary, iso_utc_ms, new_uuid7, subject_key
from gate.state.faults_now import list_faults
from gate.state.paths import state_paths
from gate.store import Store, StoreUnavailable
from gate.store.holder import StoreHolder
from gate.vocabulary import FAULT_SIGNAL
from gate.voice import lines_for, prompt_folder

log = logging.getLogger(__name__)

@dataclass(frozen=True)
class ScanOutcome:
    """Everything one scan produced: what the screen shows and what `gate replay` prints."""

    code: VerifyResult
    reading: Reading
    decision: Decision
    record: Record
    committed: bool
    relay_pulsed: bool
    gate_time: GateTime

    def to_json(self) -> dict[str, Any]:
        """The line of `gate replay` / `gate run --jsonl` (cli.md), with a few more keys."""
        return {
            "decision": self.decision.decision,
            "reasons": list(self.decision.reasons),
            "code": self.code.to_json(),
            "record_id": self.record.id if self.committed else None,
            "relay_pulsed": self.relay_pulsed,
            "temperature_c": self.reading.temperature_c,
            "temperature_state": self.decision.temperature_state,
            "message_zh": self.decision.message_zh,
            "message_en": self.decision.message_en,
            "clock_trusted": self.gate_time.trusted,
            "alert": self.decision.alert,
            "scanned_at": self.record.scanned_at,
        }


@dataclass(frozen=True)
class Vitals:
    """The decision path's figures for the metrics, as plain values."""

    queue_depth: int | None
    oldest_pending_age_s: float | None
    trust_version: int | None
    trust_age_s: float | None
    clock_trusted: bool


class Pipeline:
    """The decision path of one gate. Parts are passed in (hardware behind seams)."""

    def __init__(
        self,
        config: Config,
        *,
        trust: TrustStore,
        store: Store | None,
        body: GateBody,
        thermometer: Thermometer,
        floor: TimeFloor,
        clock: Callable[[], float] = time.time,
        store_path: Path | None = None,
        bulletins: BulletinWatch | None = None,
    ) -> None:
        self.config = config  # the file's; each scan decides under `effective_config` (bulletins win)
        self.bulletins = bulletins if bulletins is not None else BulletinWatch.for_trust(trust)
        self.held = StoreHolder(store, store_path)  # the record store, open or shut with its reason
        self.trust = trust
        self.body = body
        self.thermometer = thermometer
        self.floor = floor
        self.clock = clock
        self.last: ScanOutcome | None = None
        self._rule_sets: dict[str, RuleSet] = {}  # credentials.md: loaded on first use, by name
        self._lock = threading.Lock()
        self._raise_floor_to_lists()
        self.attendant_button: Callable[[], bool] | None = None  # takes a press first (a venue card)
        self.attach_body(body)

    @property
    def store(self) -> Store | None:
        """The record store while it is open, else None."""
        return self.held.store

    @store.setter
    def store(self, store: Store | None) -> None:
        self.held.store = store

    @property
    def store_path(self) -> Path | None:
        return self.held.path

    @store_path.setter
    def store_path(self, path: Path | None) -> None:
        self.held.path = path

    @property
    def store_failure(self) -> StoreUnavailable | None:
        """Why the record store is shut, while it is."""
        return self.held.failure

    # -- one scan ---------------------------------------------------------------------------

    def scan(self, qr_text: str, reading: Reading | None = None, at: float | None = None) -> ScanOutcome:
        """Judge one QR text. `reading` defaults to measuring now; `at` to the system clock."""
        with self._lock:
            system = self.clock() if at is None else at
            gate_time = self.floor.at(system)
            self.trust.refresh()
            self._raise_floor_to_lists()
            config, bulletin_version = self._effective_config(gate_time.now)
            skew = self.config.trust.skew_s
            code = verify(qr_text, self.trust, gate_time.now, skew)
            if code.valid and code.iat is not None:
                self.floor.observe_code(code.iat, skew)
            if reading is None:
                reading = self.thermometer.read()
            key = subject_key(code.issuer, code.sub) if code.valid else None
            committed = False
            try:
                last_abnormal = self.held.get().last_abnormal_at(key) if key else None
            except StoreUnavailable as exc:
                last_abnormal, failure = None, exc
                self.held.failed(exc)
            else:
                failure = None
            decision = decide(code, reading.temperature_c, config.venue, config.temperature,
                              last_abnormal, gate_time.now, gate_time.trusted,
                              status_list_in_force=self.trust.status_in_force,
                              acceptance=self._acceptance(code, config, gate_time.now))
            if "temperature_out_of_range" in decision.reasons:
                reading = reading.not_a_body()  # not a body temperature: recorded and shown as none
            flags = record_flags(self._faults_now(system))
            record = self._record(code, reading, decision, gate_time, flags, bulletin_version)
            if failure is None:
                try:
                    self.held.get().commit(
                        record,
                        remember_abnormal=(key, gate_time.now) if decision.remember_abnormal and key else None,
                        forget_abnormal=key if decision.forget_abnormal and key else None,
                    )
                    committed = True
                except StoreUnavailable as exc:
                    failure = exc
                    self.held.failed(exc)
            if not committed:
                log.error("scan not recorded, gate stays shut: %s", failure)
                decision = refuse(decision, "store_unavailable")
                record = self._record(code, reading, decision, gate_time, flags, bulletin_version)
            # Only now, with the record on disk, may the gate move: an unrecorded scan is a deny.
            pulsed = self.body.show(decision.decision, lines_for(
                decision.decision, decision.reasons, config.venue.type, reading.temperature_c, config.voice))
            outcome = ScanOutcome(code, reading, decision, record, committed, pulsed, gate_time)
            self.last = outcome
            return outcome

    def _acceptance(self, code: VerifyResult, config: Config, now: float) -> Verdict | None:
        """The venue's CertLogic verdict on a valid credential (credentials.md), None for a code
        with a colour. The rule set is `[credentials] rule_set` (a bulletin may name another), else
        the venue type's own; one that cannot be loaded accepts nothing."""
        if not code.valid or code.payload is None:
            return None
        name = config.credentials.rule_set or config.venue.type
        rule_set = self._rule_sets.get(name)
        if rule_set is None:
            try:
                rule_set = self._rule_sets[name] = load_rule_set(name)
            except RuleSetError as exc:
                log.error("credential refused: rule set %s cannot be used: %s", name, exc)
                return Verdict(accepted=False, rule_id=None)
        return judge(rule_set, code.payload, str(code.fields.get("cert_type")), now, config.credentials.country)

    def record_override(self, overridden: str | None) -> None:
        """The attendant let the last person through: record it before the relay moves.

        Called by the gate's body when the override button is pressed; raising keeps the gate shut.
        """
        with self._lock:
            last = self.last
            if last is None or not last.committed or overridden is None:
                raise RuntimeError("no recorded scan left to override; the gate stays shut")
            system = self.clock()
            gate_time = self.floor.at(system)
            record = dataclasses.replace(
                last.record,
                id=new_uuid7(gate_time.now),
                scanned_at=iso_utc_ms(gate_time.now),
                clock_trusted=gate_time.trusted,
                decision="allow",
                decision_reasons=["attendant_override"],
                trust_list_version=self.trust.trust_version,
                override={"record_id": last.record.id, "overrode": overridden},
                fire_release=self.body.fire_release_active,
                temperature_raw=None,
                alert=False,
                faults=record_flags(self._faults_now(system)),
                bulletin_version=self._effective_config(gate_time.now)[1],
            )
            self.held.get().commit(record)

    # -- bulletins (directives.md) ----------------------------------------------------------

    def _effective_config(self, now: float) -> tuple[Config, int]:
        """The file's configuration with the settings of the bulletin in force at `now`, and its version."""
        if not self.bulletins.follows(self.trust):  # a reload moved the trust or state folder
            self.bulletins = BulletinWatch.for_trust(self.trust)
        return self.bulletins.refresh(self.trust.trust_list, now).effective_config(self.config, now)

    def bulletin_summary(self) -> dict[str, Any]:
        """The bulletin in force now and the one held (`BulletinBook.summary`), for the screen and status."""
        with self._lock:
            self.trust.refresh()
            now = self.floor.at(self.clock()).now
            self._effective_config(now)
            return self.bulletins.book.summary(now)

    def idle_view(self) -> dict[str, Any]:
        """What the idle screen shows of the decision path: the bulletin in force and its note, and
        how many undelivered records were recovered from a damaged store (while that is shown)."""
        view: dict[str, Any] = {"bulletin": self.bulletin_summary()["in_force"]}
        recovered = self.store_recovered()
        if recovered:
            view["store_recovered"] = recovered
        return view

    def store_recovered(self) -> int:
        """Records recovered from a damaged store while its fault is kept (0: none)."""
        return self.held.recovered()

    # -- what the kiosk asks (it never reaches into the parts) -------------------------------

    def attach_body(self, body: GateBody) -> None:
        """Make `body` the gate's body: its override button records through this path, and
        `attendant_button` (when set) may take a press first."""
        self.body = body
        body.on_override = self.record_override
        body.on_button = self._button_pressed

    def _button_pressed(self) -> bool:
        return self.attendant_button() if self.attendant_button is not None else False

    def measure(self) -> Reading:
        """One reading of the thermometer now."""
        return self.thermometer.read()

    def idle(self) -> None:
        """Lights out and silence between people."""
        self.body.idle()

    def show_fault_lights(self) -> None:
        """The lights say the gate cannot scan (gate.vocabulary.FAULT_SIGNAL); the relay is not touched."""
        if self.body.lights is not None:
            self.body.lights.show(FAULT_SIGNAL.light, blink=FAULT_SIGNAL.blink)

    def gate_faults(self) -> list[str]:
        """Every fault code of the decision path (faults()) and of the body's parts."""
        return sorted(set(self.faults()) | set(self.body.faults))

    def tick_clock(self) -> None:
        """A running gate's periodic tick: a trusted clock's time becomes the floor."""
        self.floor.tick()

    def gate_now(self) -> float:
        """The time the gate decides at now (never below the time floor)."""
        return self.floor.at(self.clock()).now

    def trust_list(self) -> Any:
        """The trust list in force (gate.codes.trust.TrustList), or None."""
        return self.trust.trust_list

    def state_folder(self) -> Path | None:
        """The folder of the gate's state files (beside the record store)."""
        return Path(self.store_path).parent if self.store_path is not None else None

    def vitals(self) -> "Vitals":
        """The figures the metrics show: queue, lists, clock (each None when unknown)."""
        depth = age = None
        if self.store is not None:
            try:
                from gate.record import parse_iso_utc

                oldest = self.store.oldest_pending_scanned_at()
                age = max(0.0, time.time() - parse_iso_utc(oldest)) if oldest else 0.0
                depth = self.store.queue_depth()
            except Exception:  # noqa: BLE001  (figures must never take the loop down)
                log.warning("queue figures unavailable", exc_info=True)
        trust = self.trust.trust_list
        return Vitals(
            queue_depth=depth, oldest_pending_age_s=age,
            trust_version=trust.version if trust is not None else None,
            trust_age_s=max(0.0, time.time() - trust.issued_at) if trust is not None else None,
            clock_trusted=self.floor.now().trusted)

    # -- parts ------------------------------------------------------------------------------

    def store_faults(self) -> list[str]:
        """The store's gate.faults codes now (store_read_only, store_full, store_corrupt, ...)."""
        return self.held.faults()

    def store_idle(self) -> list[str]:
        """From the kiosk's idle tick: retry a shut store, check an open one; its faults now."""
        with self._lock:
            return self.held.idle()

    def _raise_floor_to_lists(self) -> None:
        if self.trust.trust_list is not None:
            self.floor.raise_to(self.trust.trust_list.issued_at)
        self.floor.raise_to(self.trust.status_issued_at)

    def faults(self) -> list[str]:
        """The fault codes in force now: the lists and the clock (gate.state.faults_now.list_faults), and the
        record store's (shut, read-only, full, damaged and recovered, missing)."""
        with self._lock:
            self.trust.refresh()
            return self._faults_now(self.clock())

    def _faults_now(self, system_now: float) -> list[str]:
        return sorted({*list_faults(self.trust, self.floor, system_now, self.config), *self.store_faults()})

    def _record(self, code: VerifyResult, reading: Reading, decision: Decision, gate_time: GateTime,
                faults: list[str], bulletin_version: int = 0) -> Record:
        trust_list = self.trust.trust_list
        raw = None
        if reading.object_raw_c is not None or reading.ambient_c is not None:
            raw = {"object_c": reading.object_raw_c, "ambient_c": reading.ambient_c}
        return Record(
            id=new_uuid7(gate_time.now),
            device_id=self.config.device.id,
            venue_id=self.config.venue.id,
            venue_type=self.config.venue.type,
            scanned_at=iso_utc_ms(gate_time.now),
            clock_trusted=gate_time.trusted,
            code=code_summary(code, decision.rule_id),
            temperature_c=reading.temperature_c,
            temperature_state=decision.temperature_state,
            decision=decision.decision,
            decision_reasons=list(decision.reasons),
            rules_version=decision.rules_version,
            trust_list_version=trust_list.version if trust_list else None,
            trust_list_stale=trust_list is None or trust_list.is_stale(gate_time.now),
            fire_release=self.body.fire_release_active,
            temperature_raw=raw,
            alert=decision.alert,
            faults=list(faults),
            bulletin_version=bulletin_version,
        )

    def close(self) -> None:
        """Shut the gate and close every part; safe to call twice."""
        self.body.close()
        self.thermometer.close()
        self.held.close()
        self.trust.close()
        self.floor.save()


def open_pipeline(
    config: Config,
    *,
    db_path: Path | None = None,
    simulated_io: bool = False,
    thermometer: Thermometer | None = None,
    persist_floor: bool = True,
    clock: Callable[[], float] = time.time,
    body_options: dict[str, Any] | None = None,
) -> Pipeline:
    """Build a gate's decision path from its configuration.

    `simulated_io` drives the pins through gpiozero's MockFactory (replay, demo, tests).
    A record store that cannot be opened is not fatal: every scan then becomes
    `deny` / `store_unavailable` and says so. A trust folder without anchors is (TrustError).
    """
    from gate.hardware.body import simulated_body
    from gate.hardware.speaker import open_speaker
    from gate.hardware.thermometer import open_thermometer

    store_path = Path(db_path) if db_path is not None else config.store.path
    trust_state, floor_path = state_paths(store_path)
    failure: StoreUnavailable | None = None
    try:
        store: Store | None = Store(store_path)
    except StoreUnavailable as exc:
        log.error("%s; every scan will be refused until it is fixed", exc)
        store, failure = None, exc
    try:
        trust = TrustStore(config.trust.dir, trust_state)
    except (OSError, sqlite3.Error):  # state folder not writable (a read-only card): keep it in memory
        trust = TrustStore(config.trust.dir, None)
    for problem in trust.load_errors:
        log.warning("trust folder: %s", problem)
    options = dict(body_options or {})
    if "speaker" not in options:
        options["speaker"] = open_speaker(config.voice, prompt_folder(store_path), simulated=simulated_io)
    body = simulated_body(config.io, **options) if simulated_io else GateBody(config.io, **options)
    pipeline = Pipeline(
        config,
        trust=trust,
        store=store,
        body=body,
        thermometer=thermometer or open_thermometer(config.temperature),
        floor=TimeFloor(floor_path if persist_floor else None, clock=clock),
        clock=clock,
        store_path=store_path,
    )
    pipeline.held.failure = failure
    return pipeline
