"""Every fault the gate can be in, defined once: the one vocabulary of the screen's banner,
`gate doctor`, the flags on scan records and the heartbeat's ``faults`` (upload.md).

A fault is a condition in force (the camera is lost, the status list is missing), not an
event. Each has a stable code (what records, the heartbeat and the collector carry), a line in
Chinese and English for the screen and the doctor, and two properties the rest of the gate
acts on:

- ``shuts_gate``: while it is in force no scan can be admitted (the gate cannot decide or
  cannot record); the screen says so instead of inviting a scan;
- ``flags_records``: every scan record taken while it is in force names it in ``faults``,
  so whoever reads the record later knows what the decision was made under.

Add a fault here, never as a string elsewhere; `fault()` refuses codes it does not know.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

from gate.vocabulary import OUT_OF_SERVICE_EN, OUT_OF_SERVICE_ZH


@dataclass(frozen=True, slots=True)
class Fault:
    """One kind of fault and what each output says of it."""

    code: str
    en: str
    zh: str
    shuts_gate: bool = False
    flags_records: bool = False

    def to_json(self) -> dict[str, object]:
        return {"code": self.code, "en": self.en, "zh": self.zh, "shuts_gate": self.shuts_gate}


_ALL: tuple[Fault, ...] = (
    Fault("kiosk_not_running", "Kiosk program not running: gate shut", "闸机程序未运行，闸机已关闭", shuts_gate=True),
    Fault("camera_lost", "Camera lost: reconnecting", "摄像头断开，正在重连", shuts_gate=True),
    Fault("thermometer_failing", "Thermometer gives no reading", "测温仪无读数"),
    Fault("store_unavailable", "Record store unavailable: gate shut", "记录存储不可用，闸机已关闭", shuts_gate=True),
    Fault("store_read_only", "Record store read-only (SD card errors): gate shut",
          "存储卡只读，闸机已关闭", shuts_gate=True),
    Fault("store_full", "Record store full: gate shut", "存储空间已满，闸机已关闭", shuts_gate=True),
    Fault("store_corrupt", "Record store damaged: moved aside, records recovered",
          "记录存储损坏，已移出并恢复记录", flags_records=True),
    Fault("store_missing", "Record store lost: undelivered records missing",
          "记录存储丢失，有未上传记录缺失", flags_records=True),
    Fault("clock_untrusted", "Clock not trusted", "时钟不可信", flags_records=True),
    Fault("trust_list_missing", "No trust list: no code can be verified", "无信任列表，无法验证健康码"),
    Fault("trust_list_stale", "Trust list expired", "信任列表已过期", flags_records=True),
    Fault("status_list_missing", "No status list: attendant decides", "无状态列表，由值守人员判断",
          flags_records=True),
    Fault("status_list_stale", "Status list out of date", "状态列表已过期", flags_records=True),
    Fault("trust_cache_rebuilt", "Trust cache was damaged and rebuilt", "信任缓存损坏，已重建"),
    Fault("device_key_missing", "Device key missing: cannot upload", "设备密钥缺失，无法上传"),
    Fault("upload_refused", "Collector refuses this gate's uploads", "数据中心拒绝本闸机上传"),
    Fault("speaker_missing", "No sound card: voice prompts off", "无声卡，语音提示关闭"),
    Fault("voice_unavailable", "Voice prompts cannot be made (espeak-ng): voice off", "无法生成语音提示，语音关闭"),
    Fault("config_rejected", "New configuration refused: old one kept", "新配置无效，沿用原配置"),
    # the technician's service mode (spec/setup.md): no scan is decided until it ends
    Fault("in_service_mode", OUT_OF_SERVICE_EN, OUT_OF_SERVICE_ZH, shuts_gate=True),
)

FAULTS: dict[str, Fault] = {f.code: f for f in _ALL}


def fault(code: str) -> Fault:
    """The fault named `code`; KeyError for a code that is not in the vocabulary."""
    try:
        return FAULTS[code]
    except KeyError:
        raise KeyError(f"unknown fault code {code!r}: add it to gate.faults") from None


def record_flags(codes: Iterable[str]) -> list[str]:
    """The codes among `codes` that flag scan records, sorted, each checked against the vocabulary."""
    return sorted({c for c in codes if fault(c).flags_records})


def gate_shut(codes: Iterable[str]) -> bool:
    """True when any of `codes` means no scan can be admitted."""
    return any(fault(c).shuts_gate for c in codes)
