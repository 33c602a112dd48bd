"""Sign-in throttling (Django has none): at most `PER_ACCOUNT` attempts for one account and
`PER_ADDRESS` from one client address within `WINDOW`; further attempts are refused without
checking the password (a guesser learns nothing and costs us no hashing time).

An attempt is counted BEFORE the slow password hash, in one atomic statement per counter
(an upsert that starts a new window when the old one has passed and answers the new count), so
a burst of concurrent guesses cannot slip between a check and a count: of 24 guesses at once,
at most `PER_ACCOUNT` reach the password check. A good sign-in clears its account's counter and
takes its own attempt back from the address's, so only failures hold an address back.

The counters live in the collector's database (`SignInCounter`), so every collector process
behind a load balancer shares them, and they expire with their window (a counter whose window
has passed restarts at 1; counters left idle are deleted as others are written). The address is
`gate.collector.audit.client_address` (``X-Forwarded-For`` only through trusted proxies).
"""

from __future__ import annotations

import time
from datetime import timedelta

from django.db import connections

from gate.collector.console.models import SignInCounter
from gate.collector.django_db import current_alias

WINDOW = timedelta(minutes=15)
PER_ACCOUNT = 5    # attempts for one account name within WINDOW
PER_ADDRESS = 20   # attempts from one address within WINDOW (several accounts tried)

_TABLE = SignInCounter._meta.db_table
_COUNT = (
    f"INSERT INTO {_TABLE} (name, window_start, attempts) VALUES (%s, %s, 1)"
    f" ON CONFLICT (name) DO UPDATE SET"
    f" attempts = CASE WHEN {_TABLE}.window_start <= %s THEN 1"
    f" ELSE {_TABLE}.attempts + 1 END,"
    f" window_start = CASE WHEN {_TABLE}.window_start <= %s THEN excluded.window_start"
    f" ELSE {_TABLE}.window_start END"
    f" RETURNING attempts"
)


def normal(username: str) -> str:
    """The account name as counted: trimmed and case-folded, so 'Admin' and 'admin' share one."""
    return username.strip().casefold()[:150]


def _account(username: str) -> str:
    return "user:" + normal(username)


def _address(address: str) -> str:
    return "address:" + address[:100]


def _count(name: str, now: float) -> int:
    """Count one attempt on the counter `name` and answer its attempts in the current window."""
    expired = now - WINDOW.total_seconds()
    with connections[current_alias()].cursor() as cur:
        cur.execute(_COUNT, [name, now, expired, expired])
        return int(cur.fetchone()[0])


def attempt(username: str, address: str, now: float | None = None) -> bool:
    """Count a sign-in attempt for `username` from `address`; True when it may check the
    password, False when the account or the address has used up its attempts in the window."""
    now = time.time() if now is None else now
    by_account = _count(_account(username), now)
    by_address = _count(_address(address), now)
    if by_account == 1 and by_address == 1:  # now and then: forget counters left idle
        SignInCounter.objects.filter(window_start__lte=now - WINDOW.total_seconds()).delete()
    return by_account <= PER_ACCOUNT and by_address <= PER_ADDRESS


def succeeded(username: str, address: str) -> None:
    """A good sign-in: clear the account's counter, and give the address its attempt back."""
    SignInCounter.objects.filter(name=_account(username)).delete()
    with connections[current_alias()].cursor() as cur:
        cur.execute(f"UPDATE {_TABLE} SET attempts = attempts - 1"
                    f" WHERE name = %s AND attempts > 0", [_address(address)])
