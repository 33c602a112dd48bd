"""The record of one scan: what the decision path writes to the store before the gate moves."""

from __future__ import annotations

from gate.clock import GateTime
from gate.codes.result import VerifyResult
from gate.codes.trust import TrustList
from gate.config import Config
from gate.hardware.thermometer import Reading
from gate.policy import Decision
from gate.record import Record, code_summary, iso_utc_ms, new_uuid7


def scan_record(config: Config, trust_list: TrustList | None, fire_release: bool, code: VerifyResult,
                reading: Reading, decision: Decision, gate_time: GateTime, faults: list[str],
                bulletin_version: int = 0) -> Record:
    """The record of a scan decided at `gate_time` under `config` and the trust list in force."""
    raw = None
    if reading.object_raw_c is not None or reading.ambient_c is not None:
        raw = {"object_c": reading.object_raw_c, "ambient_c": reading.ambient_c}
    return Record(
        id=new_uuid7(gate_time.now),
        device_id=config.device.id,
        venue_id=config.venue.id,
        venue_type=config.venue.type,
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
        fire_release=fire_release,
        temperature_raw=raw,
        alert=decision.alert,
        faults=list(faults),
        bulletin_version=bulletin_version,
    )
