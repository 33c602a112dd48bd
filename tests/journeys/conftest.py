"""The journeys' shared fixture: `user`, a new user's clean shell (tests/journeys/userkit.py)."""

from tests.journeys.userkit import user  # noqa: F401  (a fixture, found by name)
