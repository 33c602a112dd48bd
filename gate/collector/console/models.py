"""The console's own tables: failed sign-ins (for the throttle) and each officer's paging choice.

Both live in the collector's database, so several collector processes behind a load balancer
share one throttle and one choice per person.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class SignInFailure(models.Model):
    """One refused sign-in: which account name was tried, from which address, when."""

    at = models.DateTimeField(default=timezone.now)
    username = models.CharField(max_length=150)
    address = models.CharField(max_length=100)

    class Meta:
        db_table = "console_signin_failure"
        indexes = [models.Index(fields=["username", "at"], name="signin_user_time"),
                   models.Index(fields=["address", "at"], name="signin_address_time")]


class Paging(models.Model):
    """Whether a duty officer is also paged for yellow codes and itinerary marks in batches."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                                primary_key=True, related_name="+")
    yellow_and_itinerary = models.BooleanField(default=False)

    class Meta:
        db_table = "console_paging"
