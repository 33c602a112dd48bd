"""The signed client: signed requests whose answers are bounded in time and in size."""

from __future__ import annotations

import time
from email.utils import formatdate

import pytest

from gate.sync import SignedClient, Stop, parse_retry_after
from tests.synckit import DEVICE_ID, closed_port_url, proxy_for


def client(url: str, key, **options) -> SignedClient:
    return SignedClient(url, DEVICE_ID, key, **options)


def test_a_signed_request_and_its_whole_answer(collector_server, device_key):
    c = client(collector_server.url, device_key)
    answer = c.call("GET", "/v1/trustlist")
    assert answer.status == 200 and answer.json()["version"] == 7
    assert answer.headers["ETag"] and answer.headers["x-signature"]
    c.close()


def test_a_gate_clock_far_off_is_corrected_for_signing_and_the_request_goes_again(
        collector_server, device_key):
    learned = []
    c = client(collector_server.url, device_key, clock=lambda: time.time() - 7200,
               on_offset=learned.append)
    assert c.call("GET", "/v1/trustlist").status == 200
    assert learned and learned[0] == pytest.approx(7200, abs=5) and c.requests_sent == 2


@pytest.mark.parametrize("peer", ["drip", "drip-body", "drip-head", "silent"])
def test_an_answer_that_does_not_complete_within_the_deadline_is_a_network_failure(
        collector_server, device_key, proxies, peer):
    proxy = proxy_for(proxies, collector_server, plans={"/v1/trustlist": {1: peer}}, drip_s=0.02)
    c = client(proxy.url, device_key, timeout_s=0.5)
    with pytest.raises(Stop, match="no complete answer within 0.5 s") as caught:
        c.call("GET", "/v1/trustlist")
    assert caught.value.kind == "network" and caught.value.transient
    assert c.call("GET", "/v1/trustlist").status == 200  # the next request goes on
    c.close()


@pytest.mark.parametrize("declared", [True, False])
def test_an_answer_larger_than_the_cap_is_a_network_failure_not_a_memory_error(
        collector_server, device_key, proxies, declared):
    proxy = proxy_for(proxies, collector_server, plans={"/v1/trustlist": {1: "huge"}},
                      huge_declared=declared)
    c = client(proxy.url, device_key, timeout_s=5)
    with pytest.raises(Stop, match="larger than the 1048576 bytes allowed") as caught:
        c.call("GET", "/v1/trustlist", cap=1 << 20)
    assert caught.value.kind == "network"
    assert c.call("GET", "/v1/trustlist").status == 200
    c.close()


def test_a_refused_connection_is_a_network_failure(device_key):
    with pytest.raises(Stop) as caught:
        client(closed_port_url(), device_key).call("GET", "/v1/trustlist")
    assert caught.value.kind == "network"


def test_statuses_become_the_stop_they_call_for(collector_server, device_key, proxies):
    proxy = proxy_for(proxies, collector_server, plans={"/v1/trustlist": {1: "503"}},
                      retry_after="3")
    c = client(proxy.url, device_key)
    with pytest.raises(Stop) as busy:
        c.send("GET", "/v1/trustlist", what="trust list")
    assert busy.value.kind == "unavailable" and busy.value.retry_after == 3
    with pytest.raises(Stop) as refused:
        client(collector_server.url, device_key).send("POST", "/v1/scans", b"x", what="upload")
    assert refused.value.kind == "protocol" and refused.value.status == 400
    with pytest.raises(Stop) as unknown:
        SignedClient(collector_server.url, "gate-nobody", device_key).send(
            "GET", "/v1/trustlist", what="trust list")
    assert unknown.value.kind == "auth" and "gate collector add-device" in str(unknown.value)


def test_retry_after_in_seconds_or_as_an_http_date():
    now = 1_795_000_000.0
    assert parse_retry_after("120", now) == 120
    assert parse_retry_after(formatdate(now + 90, usegmt=True), now) == pytest.approx(90)
    assert parse_retry_after(formatdate(now - 90, usegmt=True), now) == 0
    assert parse_retry_after("soon", now) is None
    assert parse_retry_after(None, now) is None
