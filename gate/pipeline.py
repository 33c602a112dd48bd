"""One scan after the camera: verify, measure, decide, record, then move the gate.

The same path serves the kiosk (`gate run`), `gate replay` and the benchmarks. Its order is the
product's promise: the record is committed durably before the relay is told anything, and a scan
that cannot be recorded becomes `deny` / `store_unavailable` with the gate shut.

The rooms around it each have one job: `gate.gateparts` (the parts and what the kiosk asks of
them), `gate.acceptance` (a credential's rule set), `gate.scanrecord` (the record of a scan),
`gate.vitals` (the metrics' figures) and `gate.assembly` (the parts opened from a configuration).
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from gate.acceptance import Acceptance
from gate.assembly import open_parts
from gate.clock import GateTime, TimeFloor
from gate.codes.formats import verify
from gate.codes.result import VerifyResult
from gate.codes.trust import TrustStore
from gate.config import Config
from gate.credentials.rules import Verdict
from gate.directives.watch import BulletinWatch
from gate.faults import record_flags
from gate.gateparts import GateParts
from gate.hardware.body import GateBody
from gate.hardware.thermometer import Reading, Thermometer
from gate.policy import Decision, decide, refuse
from gate.record import Record, iso_utc_ms, new_uuid7, subject_key
from gate.scanrecord import scan_record
from gate.state.faults_now import list_faults
from gate.store import Store, StoreUnavailable
from gate.store.holder import StoreHolder
from gate.vitals import Vitals
from gate.voice import lines_for

__all__ = ["Pipeline", "ScanOutcome", "Vitals", "open_pipeline"]

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


class Pipeline(GateParts):
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
        self.acceptance = Acceptance()  # credentials.md: rule sets loaded on first use, by name
        self._lock = threading.Lock()
        self._raise_floor_to_lists()
        self.attendant_button: Callable[[], bool] | None = None  # takes a press first (a venue card)
        self.attach_body(body)

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
        """The venue's CertLogic verdict on a valid credential (gate.acceptance), None for a code with a colour."""
        return self.acceptance.verdict(code, config, now)

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

    # -- what the kiosk asks (it never reaches into the parts; gate.gateparts has the rest) ----

    def attach_body(self, body: GateBody) -> None:
        """Make `body` the gate's body: its override button records through this path, and
        `attendant_button` (when set) may take a press first."""
        self.body = body
        body.on_override = self.record_override
        body.on_button = self._button_pressed

    def _button_pressed(self) -> bool:
        return self.attendant_button() if self.attendant_button is not None else False

    def gate_faults(self) -> list[str]:
        """Every fault code of the decision path (faults()) and of the body's parts."""
        return sorted(set(self.faults()) | set(self.body.faults))

    def store_idle(self) -> list[str]:
        """From the kiosk's idle tick: retry a shut store, check an open one; its faults now."""
        with self._lock:
            return self.held.idle()

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
        return scan_record(self.config, self.trust.trust_list, self.body.fire_release_active, code, reading,
                           decision, gate_time, faults, bulletin_version)


def open_pipeline(config: Config, *, clock: Callable[[], float] = time.time, **options: Any) -> Pipeline:
    """Build a gate's decision path from its configuration; `options` as gate.assembly.open_parts
    (`db_path`, `simulated_io`, `thermometer`, `persist_floor`, `body_options`).

    `simulated_io` drives the pins through gpiozero's MockFactory (replay, demo, tests).
    A record store that cannot be opened is not fatal: every scan then becomes
    `deny` / `store_unavailable` and says so. A trust folder without anchors is (TrustError).
    """
    parts = open_parts(config, clock=clock, **options)
    pipeline = Pipeline(config, trust=parts.trust, store=parts.store, body=parts.body,
                        thermometer=parts.thermometer, floor=parts.floor, clock=clock,
                        store_path=parts.store_path)
    pipeline.held.failure = parts.failure
    return pipeline
