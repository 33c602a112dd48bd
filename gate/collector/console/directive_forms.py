"""The forms of the bulletins and venue cards pages.

They only gather what was typed: every rule of what a bulletin or a card may say (keys, ranges,
scope, venue id, validity) is checked by the code the gates use (`gate.directives`), so the
console never publishes what a gate would refuse and never refuses what a gate would take.
"""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from gate.collector.console.words import SETTING_NAMES, venue_type_text
from gate.config import SCHEMA, VENUE_TYPES, ConfigError, check_value

ENTRIES = 4  # settings entries on the page (an untouched entry is left out)
_LIST_SPLIT = re.compile(r"[\s,，;；]+")
ON_OFF = [("", _("unchanged")), ("on", _("on")), ("off", _("off"))]


def words(text: str) -> list[str]:
    """The items of a list typed with commas, semicolons or spaces between them."""
    return [w for w in _LIST_SPLIT.split(text.strip()) if w]


class BulletinForm(forms.Form):
    effective_at = forms.DateTimeField(
        label=_("In force from (local time)"),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"])
    note = forms.CharField(label=_("Note (shown on the gates' health check)"), required=False,
                           max_length=5000, widget=forms.Textarea(attrs={"rows": 2}))


class SettingForm(forms.Form):
    """One entry of a bulletin's `settings`: which gates, and what it sets for them."""

    venue_types = forms.MultipleChoiceField(label=_("Venue types"), required=False,
                                            choices=lambda: [(t, venue_type_text(t)) for t in VENUE_TYPES],
                                            widget=forms.CheckboxSelectMultiple)
    venue_id_prefixes = forms.CharField(label=_("Venue id prefixes"), required=False, max_length=2000,
                                        widget=forms.TextInput(attrs={"placeholder": "3601"}))
    device_ids = forms.CharField(label=_("Gate ids"), required=False, max_length=5000)
    itinerary_check = forms.ChoiceField(label=SETTING_NAMES["venue.itinerary_check"],
                                        choices=ON_OFF, required=False)
    strict_clock = forms.ChoiceField(label=SETTING_NAMES["venue.strict_clock"], choices=ON_OFF,
                                     required=False)
    fever_c = forms.CharField(label=SETTING_NAMES["temperature.fever_c"], required=False,
                              max_length=20,
                              widget=forms.TextInput(attrs={"placeholder": "37.3", "size": 6}))
    temperature_required = forms.ChoiceField(label=SETTING_NAMES["temperature.required"],
                                             choices=ON_OFF, required=False)
    KEYS = {"itinerary_check": "venue.itinerary_check", "strict_clock": "venue.strict_clock",
            "fever_c": "temperature.fever_c", "temperature_required": "temperature.required"}

    def clean_fever_c(self) -> str:
        """The fever threshold refused here in the page's language when a gate would refuse it
        (the range is the gates' own, config.SCHEMA; the gates' check runs again on publishing)."""
        text = (self.cleaned_data.get("fever_c") or "").strip()
        if not text:
            return text
        spec = SCHEMA["temperature"]["fever_c"]
        try:
            check_value("temperature.fever_c", float(text))
        except (ValueError, ConfigError):
            raise forms.ValidationError(
                _("A gate takes a fever threshold from %(low)s to %(high)s °C.")
                % {"low": spec.low, "high": spec.high}) from None
        return text

    def entry(self) -> dict[str, Any] | None:
        """The entry as the bulletin writes it, or None when nothing of it was filled in."""
        data = self.cleaned_data
        scope: dict[str, list[str]] = {}
        if data.get("venue_types"):
            scope["venue_types"] = list(data["venue_types"])
        for key in ("venue_id_prefixes", "device_ids"):
            if words(data.get(key) or ""):
                scope[key] = words(data[key])
        values: dict[str, Any] = {}
        for field, key in (("itinerary_check", "venue.itinerary_check"),
                           ("strict_clock", "venue.strict_clock"),
                           ("temperature_required", "temperature.required")):
            if data.get(field):
                values[key] = data[field] == "on"
        fever = (data.get("fever_c") or "").strip()
        if fever:
            try:
                values["temperature.fever_c"] = float(fever)
            except ValueError:
                values["temperature.fever_c"] = fever  # the gates' check says why it is refused
        if not scope and not values:
            return None
        return {"scope": scope, "set": values}


def setting_forms(data: Any = None) -> list[SettingForm]:
    """The page's settings entries, bound to `data` when given."""
    return [SettingForm(data, prefix=f"s{n}") for n in range(ENTRIES)]


class VenueCardForm(forms.Form):
    venue_id = forms.CharField(label=_("Venue id"), max_length=200,
                               widget=forms.TextInput(attrs={"placeholder": "360102-012-north-gate"}))
    venue_type = forms.ChoiceField(label=_("Venue type"),
                                   choices=lambda: [(t, venue_type_text(t)) for t in VENUE_TYPES])
    community_codes = forms.CharField(label=_("Community codes"), required=False, max_length=2000)
    device_ids = forms.CharField(label=_("Gate ids (empty: any gate)"), required=False,
                                 max_length=2000)
    days = forms.FloatField(label=_("Valid for (days, at most 30)"), min_value=0.01, max_value=30,
                            initial=7)
    format = forms.ChoiceField(label=_("File"), choices=[("png", "PNG"), ("pdf", "PDF")],
                               initial="png")
