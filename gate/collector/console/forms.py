"""The console's forms: what each page accepts, checked before any query runs."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from gate.collector.roles import ROLES
from gate.vocabulary import DECISIONS

SEARCH_DAYS = 7  # a search with no range covers the last week (bounded: partitions prune)
MAX_RANGE = timedelta(days=366)
AHEAD = timedelta(days=1)


class LoginForm(forms.Form):
    username = forms.CharField(label=_("User name"), max_length=150)
    password = forms.CharField(label=_("Password"), widget=forms.PasswordInput, max_length=1024)


class AcknowledgeForm(forms.Form):
    note = forms.CharField(label=_("Note"), max_length=2000, required=False,
                           widget=forms.TextInput(attrs={"placeholder": _("what was done")}))


class PagingForm(forms.Form):
    yellow_and_itinerary = forms.BooleanField(
        label=_("Also page me for yellow codes and itinerary marks in ordinary batches"),
        required=False)


def _local_input(**attrs: Any) -> forms.DateTimeInput:
    return forms.DateTimeInput(attrs={"type": "datetime-local", **attrs},
                               format="%Y-%m-%dT%H:%M")


class TimeRangeMixin(forms.Form):
    """`start`/`end` in the collector's local time, defaulting to the last `days` days; with no
    end given, scans stamped up to `AHEAD` in the future (a gate's clock running fast) are in."""

    days = SEARCH_DAYS
    start = forms.DateTimeField(label=_("From"), required=False, widget=_local_input(),
                                input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S",
                                               "%Y-%m-%d %H:%M", "%Y-%m-%d"])
    end = forms.DateTimeField(label=_("To"), required=False, widget=_local_input(),
                              input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S",
                                             "%Y-%m-%d %H:%M", "%Y-%m-%d"])

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        now = timezone.now()
        end = data.get("end") or now + AHEAD
        start = data.get("start") or now - timedelta(days=self.days)
        if start > end:
            raise forms.ValidationError(_("The start of the range is after its end."))
        if end - start > MAX_RANGE:
            raise forms.ValidationError(_("The range may cover one year at most."))
        data["start"], data["end"] = start, end
        return data


def decision_choices() -> list[tuple[str, str]]:
    """The decisions as the page's language says them (evaluated at each rendering)."""
    from gate.collector.console.words import decision_text

    return [("", "—")] + [(d, f"{decision_text(d)} · {d}") for d in DECISIONS]


class RecordSearchForm(TimeRangeMixin):
    venue = forms.CharField(label=_("Venue"), max_length=200, required=False)
    gate = forms.CharField(label=_("Gate"), max_length=200, required=False)
    decision = forms.ChoiceField(label=_("Decision"), required=False,
                                 choices=decision_choices)
    reason = forms.CharField(label=_("Reason"), max_length=100, required=False)
    issuer = forms.CharField(label=_("Issuer"), max_length=100, required=False)
    sub = forms.CharField(label=_("Subject"), max_length=200, required=False)
    # credentials.md: the code's format (JKM1, an EU DCC, a SMART Health Card)
    format = forms.ChoiceField(label=_("Format"), required=False,
                               choices=[("", "—"), ("JKM1", "JKM1"), ("DCC", "EU DCC"), ("SHC", "SMART Health Card")])

    def clean_reason(self) -> str:
        reason = self.cleaned_data["reason"].strip()
        if reason and not reason.replace("_", "").isalnum():
            raise forms.ValidationError(_("A reason is one word like temperature_abnormal."))
        return reason

    def clean_sub(self) -> str:
        return self.cleaned_data["sub"].strip().lower()


class TraceForm(TimeRangeMixin):
    days = 14
    sub = forms.CharField(label=_("Subject"), max_length=200)
    issuer = forms.CharField(label=_("Issuer"), max_length=100, required=False)
    window_min = forms.FloatField(label=_("Window (minutes)"), min_value=0, max_value=24 * 60,
                                  required=False,
                                  widget=forms.NumberInput(attrs={"placeholder": "30", "step": "any"}))

    def clean_sub(self) -> str:
        sub = self.cleaned_data["sub"].strip().lower()
        if not sub:
            raise forms.ValidationError(_("Give the subject."))
        return sub


class DeviceForm(forms.Form):
    device_id = forms.CharField(label=_("Gate id"), max_length=200)
    public_key = forms.CharField(label=_("Public key (PEM)"), widget=forms.Textarea(
        attrs={"rows": 4, "placeholder": "-----BEGIN PUBLIC KEY-----"}))
    replace = forms.BooleanField(label=_("Replace the key of an existing gate"), required=False)


ROLE_CHOICES = [(role, role) for role in ROLES]


class NewUserForm(forms.Form):
    username = forms.CharField(label=_("User name"), max_length=150)
    role = forms.ChoiceField(label=_("Role"), choices=ROLE_CHOICES)
    password = forms.CharField(label=_("Password"), widget=forms.PasswordInput, max_length=1024)

    def clean_username(self) -> str:
        return self.cleaned_data["username"].strip()


class RoleForm(forms.Form):
    role = forms.ChoiceField(label=_("Role"), choices=ROLE_CHOICES)


def local_input_value(moment: datetime) -> str:
    """`moment` as a datetime-local input's value in the collector's time zone."""
    return timezone.localtime(moment).strftime("%Y-%m-%dT%H:%M")
