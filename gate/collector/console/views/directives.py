"""Bulletins and venue cards (admin, directives.md): the collector's directive key, writing,
previewing and publishing a bulletin, seeing which gates report it, and printing venue cards.
Publishing and printing are audited (``bulletin.publish``, ``venue_card.issue``)."""

from __future__ import annotations

import hashlib
import tempfile
from datetime import datetime, timezone as dt_timezone
from pathlib import Path
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from gate.collector import bulletins, runtime
from gate.collector.audit import audit
from gate.collector.console import confirm
from gate.collector.console.words import setting_name, setting_value_text
from gate.collector.console.directive_forms import BulletinForm, VenueCardForm, setting_forms, words
from gate.collector.directive_key import DirectiveKeyState, NoDirectiveKey, directive_key_state
from gate.collector.roles import require_role
from gate.directives.bulletin import BulletinError


def key_state() -> DirectiveKeyState:
    """The collector's directive key, checked against the trust list it serves now."""
    rt = runtime.current()
    return directive_key_state(rt.directive_key, rt.lists, rt.clock())


def _page(request: HttpRequest, form: BulletinForm, entries: list[Any], *, error: str = "",
          preview: list[bulletins.Reached] | None = None, status: int = 200,
          error_detail: str = "") -> HttpResponse:
    rt = runtime.current()
    seen = bulletins.gates()
    current, current_problem = bulletins.in_force(rt.lists)
    have, lacking = bulletins.reports(current.version, seen) if current else ([], [])
    return render(request, "console/bulletins.html", {
        "form": form, "entries": entries, "error": error, "preview": preview,
        "error_detail": error_detail,
        "reached": sum(1 for r in preview if r.values) if preview is not None else 0,
        "key": key_state(), "current": current, "current_problem": current_problem,
        "current_effective": (datetime.fromtimestamp(current.effective_at, dt_timezone.utc)
                              if current else None),
        "have": have, "lacking": lacking, "next_version": bulletins.next_version(rt.lists, seen),
        "published": request.GET.get("published", ""), "section": "bulletins"}, status=status)


def _entries(forms: list[Any]) -> tuple[list[dict[str, Any]], bool]:
    """The filled-in settings entries, and whether every entry form was valid."""
    valid = all(f.is_valid() for f in forms)
    return ([e for e in (f.entry() for f in forms) if e is not None] if valid else []), valid


def _entry_words(entry: dict[str, Any]) -> str:
    """One settings entry in words: which gates, and what it sets for them."""
    scope = "; ".join(f"{setting_name(k)}: {setting_value_text(v)}"
                      for k, v in entry.get("scope", {}).items()) or _("every gate")
    sets = "; ".join(f"{setting_name(k)} = {setting_value_text(v)}"
                     for k, v in entry.get("set", {}).items())
    return f"{scope} → {sets}"


@require_role("admin")
@require_http_methods(["GET", "POST"])
def bulletins_page(request: HttpRequest) -> HttpResponse:
    """GET: the key, the bulletin in force, the form. POST action=preview|publish."""
    if request.method == "GET":
        form = BulletinForm(initial={"effective_at": timezone.localtime().replace(second=0, microsecond=0)})
        return _page(request, form, setting_forms())
    form = BulletinForm(request.POST)
    entries = setting_forms(request.POST)
    settings, valid = _entries(entries)
    if not form.is_valid() or not valid:
        return _page(request, form, entries, error=_("Correct the marked fields."), status=400)
    rt = runtime.current()
    effective_at = int(form.cleaned_data["effective_at"].timestamp())
    note = form.cleaned_data["note"].strip()
    try:
        parsed = bulletins.settings_of(settings)
    except BulletinError as exc:
        return _page(request, form, entries, error=_("A gate would refuse this bulletin."),
                     error_detail=str(exc), status=400)
    seen = bulletins.gates()
    preview = bulletins.reach(parsed, seen)
    if request.POST.get("action") != "publish":
        return _page(request, form, entries, preview=preview)
    try:
        key = key_state().signing_key()
    except NoDirectiveKey as exc:
        return _page(request, form, entries, preview=preview, status=409,
                     error=_("Not published: the collector has no usable directive key."),
                     error_detail=str(exc))
    if not confirm.confirmed(request):
        reached = sum(1 for r in preview if r.values)
        when = timezone.localtime(form.cleaned_data["effective_at"]).strftime("%Y-%m-%d %H:%M")
        return confirm.ask(
            request, headline=_("Sign and publish bulletin %(v)s?") % {
                "v": bulletins.next_version(rt.lists, seen)},
            lines=[_("Every gate takes it at its next sync and applies it from %(when)s; it "
                     "stays in force until a later bulletin replaces it.") % {"when": when},
                   _("%(reached)s of %(all)s registered gates take a setting from it.") % {
                       "reached": reached, "all": len(preview)}],
            details=[(_("Entry %(n)s") % {"n": n + 1}, _entry_words(entry), False)
                     for n, entry in enumerate(settings)]
            + ([(_("Note"), note, True)] if note else []),
            gates=reached, button=_("Sign and publish"), section="bulletins",
            cancel=reverse("console:bulletins"), extra={"action": "publish"})
    try:
        published = bulletins.publish(rt.lists, key, int(rt.clock()), effective_at, note, settings)
    except BulletinError as exc:
        return _page(request, form, entries, preview=preview, status=400,
                     error=_("A gate would refuse this bulletin."), error_detail=str(exc))
    except OSError as exc:
        return _page(request, form, entries, preview=preview, status=500,
                     error=_("Not published: the lists folder cannot be written."),
                     error_detail=str(exc.strerror or exc))
    audit(request, "bulletin.publish", {
        "version": published.version, "effective_at": published.effective_at, "note": note,
        "settings": settings, "sha256": hashlib.sha256(published.body).hexdigest(),
        "reaches": sorted(r.gate.device_id for r in preview if r.values)})
    return redirect(f"{request.path}?published={published.version}")


@require_role("admin")
@require_http_methods(["GET", "POST"])
def venue_cards(request: HttpRequest) -> HttpResponse:
    """GET: the form. POST: the signed card as a PNG or PDF download, audited."""
    from gate.directives.card_image import save_card
    from gate.directives.venue_card import CardRefused, card_claims, make_card

    form = VenueCardForm(request.POST or None)
    state = key_state()
    error, status = "", 400 if request.method == "POST" else 200
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        communities, devices = tuple(words(data["community_codes"])), tuple(words(data["device_ids"]))
        try:
            text = make_card(state.signing_key(), data["venue_id"].strip(), data["venue_type"],
                             community_codes=communities, device_ids=devices,
                             issued_at=int(runtime.current().clock()), days=data["days"])
            card = card_claims(text)
        except NoDirectiveKey as exc:
            error, status = _("No card made: %(why)s") % {"why": exc}, 409
        except (CardRefused, ValueError) as exc:
            error = _("A gate would refuse this card: %(why)s") % {"why": exc}
        else:
            suffix = data["format"]
            with tempfile.TemporaryDirectory(prefix="venue-card-") as folder:
                out = Path(folder) / f"card.{suffix}"
                save_card(text, card, out)
                body = out.read_bytes()
            audit(request, "venue_card.issue", {
                "card_id": card.card_id.hex(), "venue_id": card.venue_id, "venue_type": card.venue_type,
                "community_codes": list(card.community_codes), "device_ids": list(card.device_ids),
                "issued_at": card.issued_at, "expires_at": card.expires_at, "format": suffix})
            answer = HttpResponse(body, content_type="application/pdf" if suffix == "pdf" else "image/png")
            answer["Content-Disposition"] = f'attachment; filename="venue-card-{card.venue_id}.{suffix}"'
            answer["Cache-Control"] = "no-store"
            return answer
    return render(request, "console/venue_cards.html", {
        "form": form, "error": error, "key": state, "section": "venue_cards"}, status=status)
