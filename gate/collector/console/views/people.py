"""Devices and people (admin): register a gate's key, disable, enable, replace a key explicitly;
users and their roles. Every change is audited."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _, gettext_noop
from django.views.decorators.http import require_http_methods, require_POST

from gate.collector.audit import audit
from gate.collector.console.fleet import fleet_page
from gate.collector.console.pages import asked_page
from gate.collector.console import confirm
from gate.collector.console.forms import DeviceForm, NewUserForm, RoleForm
from gate.collector.console.views.errors import refusal
from gate.collector.console.words import role_text
from gate.collector.models import Device
from gate.collector import devices as registry
from gate.collector import users as people
from gate.collector.roles import require_role, role_of
from gate.devicesig import load_public_key, public_key_b64
from gate.errors import GateError


ROLE_MEANS = {
    "viewer": gettext_noop("A duty officer sees the fleet and the alerts, and acknowledges alerts."),
    "tracer": gettext_noop("A tracer also searches records, traces contacts and exports them "
                           "(personal data)."),
    "admin": gettext_noop("An administrator also manages gates, people, bulletins and venue "
                          "cards, and reads the audit log."),
}


class DeviceRefused(GateError, ValueError):
    """A registration refused (console.md, Devices): the line to show, and optionally the
    registry's own words as the technical detail."""

    @property
    def line(self) -> str:
        return str(self.args[0])

    @property
    def detail(self) -> str:
        return str(self.args[1]) if len(self.args) > 1 else ""


def register_device(device_id: str, pem: str, replace: bool) -> tuple[Device, bool]:
    """Register `device_id` with the Ed25519 key in `pem` through the same code as
    ``gate collector add-device``; (device, replaced). An existing id is refused unless
    `replace`; a key registered to another gate is always refused. Refusals say why in the page's
    language (the registry's own line kept as the technical detail)."""
    try:
        key = public_key_b64(load_public_key(pem.strip().encode()))
    except (ValueError, TypeError) as exc:
        raise DeviceRefused(_("That is not an Ed25519 public key in PEM.")) from exc
    holder = Device.objects.filter(public_key=key).exclude(pk=device_id).values_list(
        "pk", flat=True).first()
    if holder is not None:
        raise DeviceRefused(_("This key is already registered to gate %(id)s.") % {"id": holder})
    if not replace and Device.objects.filter(pk=device_id).exists():
        raise DeviceRefused(_("Gate %(id)s is already registered; tick \"Replace the key of an "
                              "existing gate\" to give it a new key.") % {"id": device_id})
    try:
        outcome = registry.add_device(device_id, key, replace=replace)
    except registry.DeviceError as exc:
        raise DeviceRefused(_("The collector refused this gate id or key."), str(exc)) from exc
    return Device.objects.get(pk=device_id), outcome == "replaced"


@require_role("admin")
@require_http_methods(["GET", "POST"])
def devices(request: HttpRequest) -> HttpResponse:
    form = DeviceForm(request.POST or None)
    error = error_detail = ""
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        device_id = data["device_id"].strip()
        old = Device.objects.filter(pk=device_id).first() if data["replace"] else None
        if old is not None and not confirm.confirmed(request):
            return confirm.ask(
                request, headline=_("Replace the key of gate %(id)s?") % {"id": device_id},
                lines=[_("The gate's old key stops working at once: until the gate has the new "
                         "key, its uploads and heartbeats are refused."),
                       _("Do this only when the gate was given a new key (a new card or a "
                         "repaired gate).")],
                details=[(_("Old key"), old.public_key, True),
                         (_("New key"), data["public_key"].strip(), True)],
                gates=1, button=_("Replace the key"), section="devices",
                cancel=reverse("console:devices"))
        try:
            device, replaced = register_device(device_id, data["public_key"], data["replace"])
        except DeviceRefused as exc:
            error, error_detail = exc.line, exc.detail
        else:
            audit(request, "device.replace" if replaced else "device.add",
                  {"device_id": device.device_id, "public_key": device.public_key})
            return redirect("console:devices")
    listed = fleet_page(sort="id", search=request.GET.get("q", "").strip()[:200],
                        page=asked_page(request.GET.get("page")))
    return render(request, "console/devices.html", {
        "form": form, "error": error, "error_detail": error_detail, "rows": listed.rows,
        "page": listed,
        "q": request.GET.get("q", "")[:200], "section": "devices"},
        status=400 if request.method == "POST" else 200)


@require_role("admin")
@require_POST
def device_enabled(request: HttpRequest, device_id: str, on: bool) -> HttpResponse:
    """Enable a gate at once; disabling is confirmed first (`confirm`)."""
    if not on and not confirm.confirmed(request):
        if not Device.objects.filter(pk=device_id).exists():
            raise Http404(device_id)
        return confirm.ask(
            request, headline=_("Disable gate %(id)s?") % {"id": device_id},
            lines=[_("The collector will refuse its uploads and heartbeats until it is enabled "
                     "again; the gate keeps its records and sends them later."),
                   _("The gate itself keeps deciding at its door.")],
            gates=1, button=_("Disable the gate"), section="devices",
            cancel=reverse("console:devices"))
    if not registry.set_enabled(device_id, on):
        raise Http404(device_id)
    audit(request, "device.enable" if on else "device.disable", {"device_id": device_id})
    return redirect("console:devices")


@require_role("admin")
@require_http_methods(["GET", "POST"])
def users(request: HttpRequest) -> HttpResponse:
    form = NewUserForm(request.POST or None)
    error = ""
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            user = people.add_user(data["username"], data["role"], data["password"])
        except people.UserError as exc:
            error = _user_refusal(data["username"], str(exc))
        else:
            audit(request, "user.add", {"username": user.get_username(), "role": data["role"]})
            return redirect("console:users")
    rows = [{"user": u, "role": role_of(u) or "", "form": RoleForm(initial={"role": role_of(u)})}
              for u in get_user_model().objects.order_by("username").prefetch_related("groups")]
    return render(request, "console/users.html", {"form": form, "people": rows, "error": error,
                                                  "section": "users"},
                  status=400 if request.method == "POST" else 200)


def _user_refusal(name: str, why: str) -> str:
    """Why a person could not be added, in the page's language."""
    if why.startswith("password refused: "):
        return _("The password was refused: %(why)s") % {"why": why.removeprefix("password refused: ")}
    if "already exists" in why:
        return _("%(name)s already exists; change their role in the list below.") % {"name": name}
    return _("This person cannot be added: %(why)s") % {"why": why}


@require_role("admin")
@require_POST
def user_role(request: HttpRequest, user_id: int) -> HttpResponse:
    user = get_object_or_404(get_user_model(), pk=user_id)
    form = RoleForm(request.POST)
    if not form.is_valid():
        return refusal(request, 400, _("Unknown role."))
    if user == request.user and form.cleaned_data["role"] != "admin":
        return refusal(request, 400, _("You cannot take the admin role from yourself."))
    before, after = role_of(user) or "", form.cleaned_data["role"]
    if not confirm.confirmed(request):
        return confirm.ask(
            request, headline=_("Change the role of %(name)s?") % {"name": user.get_username()},
            lines=[_("From %(before)s to %(after)s, from their next page on.") % {
                "before": role_text(before) or _("no role"), "after": role_text(after)},
                   _(ROLE_MEANS[after])],
            button=_("Change the role"), section="users", cancel=reverse("console:users"))
    people.set_role(user.get_username(), form.cleaned_data["role"])
    audit(request, "user.set_role", {"username": user.get_username(),
                                     "role": form.cleaned_data["role"], "previous_role": before})
    return redirect("console:users")


@require_role("admin")
@require_POST
def user_active(request: HttpRequest, user_id: int, on: bool) -> HttpResponse:
    user = get_object_or_404(get_user_model(), pk=user_id)
    if user == request.user and not on:
        return refusal(request, 400, _("You cannot disable yourself."))
    user.is_active = on
    user.save(update_fields=["is_active"])
    audit(request, "user.enable" if on else "user.disable", {"username": user.get_username()})
    return redirect("console:users")
