"""The fault vocabulary: every code defined once, with both languages, and nothing unknown accepted."""

import pytest

from gate.faults import FAULTS, fault, gate_shut, record_flags


def test_every_fault_speaks_both_languages():
    for code, f in FAULTS.items():
        assert f.code == code
        assert f.en.strip() and f.zh.strip()


def test_unknown_code_is_refused():
    with pytest.raises(KeyError, match="unknown fault code"):
        fault("something_new")


def test_record_flags_keep_only_flagging_faults():
    assert record_flags(["camera_lost", "status_list_missing", "clock_untrusted"]) == [
        "clock_untrusted", "status_list_missing"]


def test_gate_shut_when_any_fault_shuts_it():
    assert gate_shut(["thermometer_failing", "store_read_only"])
    assert not gate_shut(["thermometer_failing", "trust_list_stale"])
