"""The console's forms: what each page accepts, checked before any query runs."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from gate.collector.console.words import decision_text, role_text
from gate.collector.roles import ROLES
from gate.ids import ID_MAX_LENGTH, is_id
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


EARLIEST = datetime(2000, 1, 1)  # console parameters: a time before it or after LATEST is refused
LATEST = datetime(2100, 1, 1)
TIME_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d"]


class BoundedDateTimeField(forms.DateTimeField):
    """A local time between `EARLIEST` and `LATEST` (2000-01-01 .. 2100-01-01): checked on the
    naive value, before any conversion to UTC (which overflows near year 1 and 9999)."""

    def to_python(self, value: Any) -> datetime | None:
        if isinstance(value, str):
            value = value.strip()
            if not value:
                return None
            naive = None
            for pattern in self.input_formats:
                try:
                    naive = datetime.strptime(value, pattern)
                    break
                except (ValueError, TypeError):
                    continue
            if naive is None:
                raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
            if not EARLIEST <= naive <= LATEST:
                raise forms.ValidationError(
                    _("A time between 2000-01-01 and 2100-01-01, please."), code="out_of_range")
            return timezone.make_aware(naive)
        return super().to_python(value)


class TimeRangeMixin(forms.Form):
    """`start`/`end` in the collector's local time, defaulting to the last `days` days; with no
    end given, scans stamped up to `AHEAD` in the future (a gate's clock running fast) are in."""

    days = SEARCH_DAYS
    start = BoundedDateTimeField(label=_("From"), required=False, widget=_local_input(),
                                 input_formats=TIME_FORMATS)
    end = BoundedDateTimeField(label=_("To"), required=False, widget=_local_input(),
                               input_formats=TIME_FORMATS)

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
    return [("", "—")] + [(d, decision_text(d)) for d in DECISIONS]


RECORD_SORTS: dict[str, tuple[str, ...]] = {  # a column's name in ?sort= -> the ORM ordering
    "scanned_at": ("scanned_at", "id"), "decision": ("decision", "-scanned_at", "-id"),
    "venue": ("venue_id", "-scanned_at", "-id"), "gate": ("device_id", "-scanned_at", "-id"),
    "temperature": ("temperature_c", "-scanned_at", "-id"),
    "issuer": ("issuer", "sub", "-scanned_at", "-id")}


def sort_choices(columns: Any) -> list[tuple[str, str]]:
    """`?sort=` values for `columns`: the name (ascending) and -name (descending)."""
    return [("", "")] + [(c, c) for c in columns] + [("-" + c, "-" + c) for c in columns]


class RecordSearchForm(TimeRangeMixin):
    venue = forms.CharField(label=_("Venue"), max_length=200, required=False)
    gate = forms.CharField(label=_("Gate"), max_length=200, required=False)
    decision = forms.ChoiceField(label=_("Decision"), required=False,
                                 choices=decision_choices)
    reason = forms.CharField(label=_("Reason"), max_length=100, required=False)
    issuer = forms.CharField(label=_("Issuer"), max_length=100, required=False)
    sub = forms.CharField(label=_("Subject"), max_length=200, required=False)
    sort = forms.ChoiceField(required=False, choices=sort_choices(RECORD_SORTS),
                             widget=forms.HiddenInput)
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


MAX_CHAIN = 50  # people in a trace's breadcrumb (second degree and further, as far as one clicks)
_LINK = re.compile(r"([A-Za-z0-9._-]{0,100}):([0-9A-Za-z]{1,200})")


def trace_chain(values: list[str]) -> list[tuple[str, str]]:
    """The breadcrumb of a trace reached by clicking contacts (``?via=ISSUER:SUB``, first traced
    first) as (issuer, sub) pairs; ValidationError for anything else."""
    if len(values) > MAX_CHAIN:
        raise forms.ValidationError(_("The chain of traces is too long."))
    chain = []
    for value in values:
        found = _LINK.fullmatch(value.strip())
        if found is None:
            raise forms.ValidationError(_("The chain of traces is not readable."))
        chain.append((found.group(1), found.group(2).lower()))
    return chain


class DeviceForm(forms.Form):
    device_id = forms.CharField(label=_("Gate id"), widget=forms.TextInput(
        attrs={"maxlength": ID_MAX_LENGTH, "pattern": r"[A-Za-z0-9._\-]{1,64}"}))
    public_key = forms.CharField(label=_("Public key (PEM)"), widget=forms.Textarea(
        attrs={"rows": 4, "placeholder": "-----BEGIN PUBLIC KEY-----", "translate": "no"}))
    replace = forms.BooleanField(label=_("Replace the key of an existing gate"), required=False)

    def clean_device_id(self) -> str:
        device_id = self.cleaned_data["device_id"].strip()
        if not is_id(device_id):
            raise forms.ValidationError(_(
                "A gate id is 1 to 64 letters, digits, '.', '_' or '-' (not '.' or '..')."))
        return device_id


def role_choices() -> list[tuple[str, str]]:
    """The roles in words of the page's language (evaluated at each rendering)."""
    return [(role, role_text(role)) for role in ROLES]


class NewUserForm(forms.Form):
    username = forms.CharField(label=_("User name"), max_length=150)
    role = forms.ChoiceField(label=_("Role"), choices=role_choices)
    password = forms.CharField(label=_("Password"), widget=forms.PasswordInput, max_length=1024)

    def clean_username(self) -> str:
        return self.cleaned_data["username"].strip()


class RoleForm(forms.Form):
    role = forms.ChoiceField(label=_("Role"), choices=role_choices)


def local_input_value(moment: datetime) -> str:
    """`moment` as a datetime-local input's value in the collector's time zone."""
    return timezone.localtime(moment).strftime("%Y-%m-%dT%H:%M")
