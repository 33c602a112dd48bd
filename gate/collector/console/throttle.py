"""Sign-in throttling (Django has none): too many failures for one account, or from one address,
within the window refuse further attempts until the window has passed, without checking the
password (so a guesser learns nothing and pays nothing in hashing time for us).

The counts are kept in the database (`SignInFailure`), so every collector process behind a load
balancer sees the same ones. A successful sign-in clears the account's failures.
"""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from gate.collector.console.models import SignInFailure

WINDOW = timedelta(minutes=15)
PER_ACCOUNT = 5    # failures for one account name within WINDOW
PER_ADDRESS = 20   # failures from one address within WINDOW (several accounts tried)


def normal(username: str) -> str:
    """The account name as counted: trimmed and case-folded, so 'Admin' and 'admin' share one."""
    return username.strip().casefold()[:150]


def blocked(username: str, address: str) -> bool:
    """True when this account or this address has used up its failures in the window."""
    since = timezone.now() - WINDOW
    recent = SignInFailure.objects.filter(at__gte=since)
    if recent.filter(username=normal(username)).count() >= PER_ACCOUNT:
        return True
    return recent.filter(address=address).count() >= PER_ADDRESS


def failed(username: str, address: str) -> None:
    """Count one failed sign-in; failures older than the window are dropped on the way."""
    SignInFailure.objects.filter(at__lt=timezone.now() - WINDOW).delete()
    SignInFailure.objects.create(username=normal(username), address=address[:100])


def succeeded(username: str) -> None:
    """Forget the account's failures after a good sign-in."""
    SignInFailure.objects.filter(username=normal(username)).delete()
