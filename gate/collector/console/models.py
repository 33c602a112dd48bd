"""The console's own tables: sign-in attempt counters (for the throttle) and each officer's paging
choice.

Both live in the collector's database, so several collector processes behind a load balancer
share one throttle and one choice per person.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class SignInCounter(models.Model):
    """Sign-in attempts counted for one account name (``user:NAME``) or one client address
    (``address:ADDR``) in a window that began at ``window_start`` (unix seconds).

    Written only by `gate.collector.console.throttle` in one atomic statement per attempt.
    """

    name = models.CharField(max_length=200, primary_key=True)
    window_start = models.FloatField(db_index=True)
    attempts = models.IntegerField()

    class Meta:
        db_table = "console_signin_counter"


class Paging(models.Model):
    """Whether a duty officer is also paged for yellow codes and itinerary marks in batches."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                                primary_key=True, related_name="+")
    yellow_and_itinerary = models.BooleanField(default=False)

    class Meta:
        db_table = "console_paging"
