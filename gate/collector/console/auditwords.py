"""The audit log as a person reads it: each action and each part of "what" in words of the page's
language, times in the collector's local time (ISO texts and epoch seconds alike), roles, decisions
and venue types in words. The stored entry is never changed; this is only how it is shown."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone as dt_timezone
from typing import Any

from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _, gettext_lazy

from gate.collector.console import words

ACTIONS = {
    "records.search": gettext_lazy("searched records"), "records.export": gettext_lazy("exported records"),
    "record.view": gettext_lazy("opened a record"), "trace": gettext_lazy("traced a person"),
    "trace.export": gettext_lazy("exported a trace"), "alert.acknowledge": gettext_lazy("acknowledged an alert"),
    "alerts.paging": gettext_lazy("changed what pages them"), "device.add": gettext_lazy("registered a gate"),
    "device.replace": gettext_lazy("replaced a gate's key"), "device.enable": gettext_lazy("enabled a gate"),
    "device.disable": gettext_lazy("disabled a gate"), "user.add": gettext_lazy("added a person"),
    "user.set_role": gettext_lazy("changed a role"), "user.disable": gettext_lazy("disabled a person"),
    "user.enable": gettext_lazy("enabled a person"), "bulletin.publish": gettext_lazy("published a bulletin"),
    "venue_card.issue": gettext_lazy("issued a venue card"),
}
KEYS = {
    "sub": gettext_lazy("person"), "issuer": gettext_lazy("issuer"), "from": gettext_lazy("from"), "to": gettext_lazy("to"),
    "start": gettext_lazy("from"), "end": gettext_lazy("to"), "window_min": gettext_lazy("window (minutes)"),
    "venue": gettext_lazy("venue"), "gate": gettext_lazy("gate"), "decision": gettext_lazy("decision"), "reason": gettext_lazy("reason"),
    "page": gettext_lazy("page"), "record_id": gettext_lazy("record"), "note": gettext_lazy("note"), "device_id": gettext_lazy("gate"),
    "public_key": gettext_lazy("public key"), "username": gettext_lazy("user name"), "role": gettext_lazy("role"),
    "version": gettext_lazy("version"), "effective_at": gettext_lazy("in force from"), "settings": gettext_lazy("settings"),
    "sha256": gettext_lazy("SHA-256"), "reaches": gettext_lazy("gates reached"), "card_id": gettext_lazy("card"),
    "venue_id": gettext_lazy("venue"), "venue_type": gettext_lazy("venue type"),
    "community_codes": gettext_lazy("community codes"), "device_ids": gettext_lazy("gates"),
    "issued_at": gettext_lazy("issued"), "expires_at": gettext_lazy("expires"), "format": gettext_lazy("file"),
    "yellow_and_itinerary": gettext_lazy("also paged for yellow codes and itinerary marks"),
    "via": gettext_lazy("reached through"), "sort": gettext_lazy("sorted by"), "previous_role": gettext_lazy("previous role"),
}
CODES = {"note", "sub", "issuer", "record_id", "device_id", "public_key", "sha256", "card_id", "venue_id",
         "venue", "gate", "reaches", "device_ids", "community_codes", "via", "username", "reason"}
_TIME_KEYS = {"from", "to", "start", "end", "effective_at", "issued_at", "expires_at"}


@dataclass
class Part:
    """One part of what an entry did: its name in words, its value shown, and whether the value
    is an id or code (shown as it is, in a fixed-width font)."""

    name: str
    value: str
    code: bool


def action_text(action: str) -> str:
    """An action in words ("published a bulletin"); an unknown one as it is."""
    return str(ACTIONS.get(action, action))


def local(value: Any) -> str:
    """An ISO time or epoch seconds as the collector's local time; '' when it is neither."""
    moment: datetime | None = None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        try:
            moment = datetime.fromtimestamp(value, dt_timezone.utc)
        except (OverflowError, OSError, ValueError):
            return str(value)
    elif isinstance(value, str):
        try:
            moment = parse_datetime(value.replace("Z", "+00:00"))
        except ValueError:
            moment = None
    if moment is None:
        return str(value)
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment, dt_timezone.utc)
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M:%S")


def _setting_entry(entry: Any) -> str:
    if not isinstance(entry, dict):
        return str(entry)
    scope = entry.get("scope") if isinstance(entry.get("scope"), dict) else {}
    sets = entry.get("set") if isinstance(entry.get("set"), dict) else {}
    who = "; ".join(f"{words.setting_name(k)}: {words.setting_value_text(v)}" for k, v in scope.items()) \
        or _("every gate")
    what = "; ".join(f"{words.setting_name(k)} = {words.setting_value_text(v)}" for k, v in sets.items())
    return f"{who} → {what}"


def value_text(key: str, value: Any) -> str:
    """One value of "what" in words."""
    if key in _TIME_KEYS:
        return local(value)
    if key == "settings" and isinstance(value, list):
        return " | ".join(_setting_entry(e) for e in value)
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if key in ("role", "previous_role"):
        return words.role_text(str(value))
    if key == "decision":
        return words.decision_text(str(value))
    if key == "venue_type":
        return words.venue_type_text(str(value))
    if key == "window_min" and isinstance(value, (int, float)):
        return f"{value:g}"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value) or "—"
    if value is None or value == "":
        return "—"
    return str(value)


def parts(what: Any) -> list[Part]:
    """The entry's "what" as parts in words, in the order of `KEYS` (who, then when), then any
    other key by name."""
    if not isinstance(what, dict):
        return [Part(_("details"), str(what), True)]
    order = {key: n for n, key in enumerate(KEYS)}
    return [Part(str(KEYS.get(k, k)), value_text(k, v), k in CODES or k not in KEYS)
            for k, v in sorted(what.items(), key=lambda kv: (order.get(kv[0], len(order)), kv[0]))
            if v not in (None, "")]
