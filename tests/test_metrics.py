"""GateMetrics: the kiosk's metrics in a registry of their own, rendered in Prometheus text."""

from __future__ import annotations

import math

import pytest
from prometheus_client.parser import text_string_to_metric_families

from gate.metrics import GateMetrics
from gate.policy import DECISIONS


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def samples(metrics: GateMetrics) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = metrics.render().decode()
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def value(metrics: GateMetrics, name: str, **labels: str) -> float:
    return samples(metrics)[(name, tuple(sorted(labels.items())))]


def test_every_decision_is_reported_from_the_start_at_zero():
    m = GateMetrics()
    for decision in DECISIONS:
        assert value(m, "gate_scans_total", decision=decision) == 0


def test_scans_are_counted_by_decision():
    m = GateMetrics()
    m.scan("allow", 0.012)
    m.scan("allow", 0.020)
    m.scan("hold", 0.030)
    assert value(m, "gate_scans_total", decision="allow") == 2
    assert value(m, "gate_scans_total", decision="hold") == 1
    assert value(m, "gate_scans_total", decision="deny") == 0


def test_an_unknown_decision_is_refused():
    with pytest.raises(ValueError, match="unknown decision 'open'"):
        GateMetrics().scan("open", 0.01)


def test_frame_to_decision_lands_in_the_5_to_500_ms_buckets():
    m = GateMetrics()
    m.scan("deny", 0.012)
    m.scan("deny", 0.7)
    m.scan("deny", None)  # no frame (a replayed event): counted, not timed
    assert value(m, "gate_frame_to_decision_seconds_bucket", le="0.005") == 0
    assert value(m, "gate_frame_to_decision_seconds_bucket", le="0.015") == 1
    assert value(m, "gate_frame_to_decision_seconds_bucket", le="0.5") == 1
    assert value(m, "gate_frame_to_decision_seconds_bucket", le="+Inf") == 2
    assert value(m, "gate_frame_to_decision_seconds_count") == 2
    assert value(m, "gate_scans_total", decision="deny") == 3


def test_frames_processed_dropped_and_decoder_errors_are_counted():
    m = GateMetrics()
    for _ in range(3):
        m.frame()
    m.frame(dropped=True)
    m.decoder_error()
    assert value(m, "gate_frames_processed_total") == 3
    assert value(m, "gate_frames_dropped_total") == 1
    assert value(m, "gate_decoder_errors_total") == 1


def test_the_oldest_undelivered_record_keeps_ageing_between_updates():
    clock = FakeClock()
    m = GateMetrics(clock=clock)
    assert math.isnan(value(m, "gate_queue_oldest_age_seconds"))
    m.set_queue(12, 30.0)
    clock.now += 45
    assert value(m, "gate_queue_depth") == 12
    assert value(m, "gate_queue_oldest_age_seconds") == 75.0
    m.set_queue(0, None)
    assert value(m, "gate_queue_depth") == 0
    assert math.isnan(value(m, "gate_queue_oldest_age_seconds"))


def test_trust_list_version_and_age():
    clock = FakeClock()
    m = GateMetrics(clock=clock)
    assert value(m, "gate_trust_list_version") == 0
    assert math.isnan(value(m, "gate_trust_list_age_seconds"))
    m.set_trust(7, 3600.0)
    clock.now += 60
    assert value(m, "gate_trust_list_version") == 7
    assert value(m, "gate_trust_list_age_seconds") == 3660.0


def test_clock_trust_is_one_or_zero():
    m = GateMetrics()
    m.set_clock_trusted(True)
    assert value(m, "gate_clock_trusted") == 1
    m.set_clock_trusted(False)
    assert value(m, "gate_clock_trusted") == 0


def test_each_gate_metrics_has_its_own_registry():
    first, second = GateMetrics(), GateMetrics()  # the global registry would refuse the second
    first.scan("allow", 0.01)
    assert value(first, "gate_scans_total", decision="allow") == 1
    assert value(second, "gate_scans_total", decision="allow") == 0
