"""The sign-in throttle: attempts counted before the password hash, atomically, per account and
per client address, in the database; the client through trusted proxies only. Real threads
against a real served collector, on SQLite and on PostgreSQL."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests
from django.contrib.auth import base_user
from django.test import override_settings

from gate.collector import users
from gate.collector.console import throttle
from gate.collector.console.models import SignInCounter
from tests.collector.console.conftest import PASSWORD
from tests.collectorkit import Collector


@pytest.fixture
def slow_hash() -> Iterator[None]:
    """The collector's own slow hash (the console's conftest makes it quick): the race the
    throttle closes is the time that hash takes."""
    with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.PBKDF2PasswordHasher"]):
        yield


@pytest.fixture
def checks(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every password check Django makes (the real check, counted)."""
    made: list[str] = []
    real = base_user.check_password

    def counted(password: str, encoded: str, *args: Any, **kwargs: Any) -> bool:
        made.append(password)
        return real(password, encoded, *args, **kwargs)

    monkeypatch.setattr(base_user, "check_password", counted)
    return made


@pytest.fixture(params=["sqlite", "postgresql"])
def served(request: pytest.FixtureRequest,
           collector_factory: Callable[..., Collector]) -> Callable[..., Collector]:
    """A collector on loopback (8 server threads) on each database, with account 'ling'."""

    def make(**options: Any) -> Collector:
        url = None if request.param == "sqlite" else request.getfixturevalue("postgres_db_url")
        collector = collector_factory(url, threads=8, **options)
        with collector.app.activate():
            users.add_user("ling", "viewer", PASSWORD)
        return collector

    return make


def _form(collector: Collector) -> tuple[dict[str, str], str]:
    page = requests.get(collector.url + "/console/login", timeout=10)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
    assert token is not None
    return dict(page.cookies), token.group(1)


def _sign_in(collector: Collector, cookies: dict[str, str], token: str, name: str, password: str,
             forwarded: str | None = None) -> int:
    headers = {"X-Forwarded-For": forwarded} if forwarded else {}
    answer = requests.post(collector.url + "/console/login", cookies=cookies, headers=headers,
                           data={"username": name, "password": password,
                                 "csrfmiddlewaretoken": token},
                           allow_redirects=False, timeout=60)
    return answer.status_code


def _at_once(n: int, work: Callable[[int], int]) -> list[int]:
    start = threading.Barrier(n)
    results: list[int] = [0] * n

    def run(i: int) -> None:
        start.wait()
        results[i] = work(i)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results


def test_24_concurrent_guesses_at_one_account_reach_at_most_5_password_checks(served, checks,
                                                                            slow_hash):
    collector = served()
    cookies, token = _form(collector)
    codes = _at_once(24, lambda i: _sign_in(collector, cookies, token, "ling", f"guess {i}"))
    assert len(checks) <= throttle.PER_ACCOUNT
    assert codes.count(401) == len(checks) and codes.count(429) == 24 - len(checks)
    # the right password now is refused too, without a check
    assert _sign_in(collector, cookies, token, "Ling", PASSWORD) == 429
    assert len(checks) <= throttle.PER_ACCOUNT


def test_the_counters_are_in_the_database_and_expire_with_their_window(served):
    collector = served()
    cookies, token = _form(collector)
    for n in range(throttle.PER_ACCOUNT):
        assert _sign_in(collector, cookies, token, "ling", f"guess {n}") == 401
    with collector.app.activate():
        counters = dict(SignInCounter.objects.values_list("name", "attempts"))
        assert counters["user:ling"] == throttle.PER_ACCOUNT
        assert counters["address:127.0.0.1"] == throttle.PER_ACCOUNT
        assert _sign_in(collector, cookies, token, "ling", PASSWORD) == 429
        later = throttle.WINDOW.total_seconds() + 1
        SignInCounter.objects.update(window_start=-later)
    assert _sign_in(collector, cookies, token, "ling", PASSWORD) == 302


def test_without_a_trusted_proxy_x_forwarded_for_is_ignored(served):
    collector = served()
    cookies, token = _form(collector)
    for n in range(throttle.PER_ADDRESS):
        _sign_in(collector, cookies, token, f"user{n}", "guess", forwarded=f"198.51.100.{n}")
    # every guess counted against the peer, whatever the header claimed
    assert _sign_in(collector, cookies, token, "ling", PASSWORD, forwarded="203.0.113.9") == 429


def test_behind_a_trusted_proxy_each_client_is_counted_apart(served):
    collector = served(trusted_proxies=["127.0.0.0/8"])
    cookies, token = _form(collector)
    for n in range(throttle.PER_ADDRESS):
        # a guesser behind the city's proxy; what it writes itself (left) is not believed
        assert _sign_in(collector, cookies, token, f"user{n}", "guess",
                        forwarded=f"10.1.1.{n}, 198.51.100.7") == 401
    assert _sign_in(collector, cookies, token, "ling", PASSWORD,
                    forwarded="198.51.100.7") == 429
    # an officer behind the same proxy signs in
    assert _sign_in(collector, cookies, token, "ling", PASSWORD,
                    forwarded="198.51.100.8") == 302
