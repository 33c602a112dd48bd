"""Sign-in (throttled per account and per address), sign-out, and the console's home."""

from __future__ import annotations

from django.contrib.auth import authenticate, login, logout
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.http import require_http_methods, require_POST

from gate.collector.audit import client_address
from gate.collector.console import throttle
from gate.collector.console.forms import LoginForm
from gate.collector.roles import require_role


def _next(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                                  require_https=request.is_secure()):
        return target
    return reverse("console:fleet")


@never_cache
@csrf_protect
@require_http_methods(["GET", "POST"])
def sign_in(request: HttpRequest) -> HttpResponse:
    """The login page; a POST signs in unless the account or address is throttled."""
    form = LoginForm(request.POST or None)
    error = ""
    status = 200
    if request.method == "POST" and form.is_valid():
        name = form.cleaned_data["username"]
        address = client_address(request)
        if not throttle.attempt(name, address):  # counted before the password is checked
            error = _("Too many failed sign-ins. Wait a quarter of an hour and try again.")
            status = 429
        else:
            user = authenticate(request, username=name, password=form.cleaned_data["password"])
            if user is not None and user.is_active:
                throttle.succeeded(name, address)
                login(request, user)
                return HttpResponseRedirect(_next(request))
            error = _("Wrong user name or password.")
            status = 401
    elif request.method == "POST":
        error = _("Give a user name and a password.")
        status = 400
    return render(request, "console/login.html",
                  {"form": form, "error": error, "next": _next(request)}, status=status)


@require_POST
def sign_out(request: HttpRequest) -> HttpResponse:
    """End the session (a POST with the CSRF token, so no other site can sign anyone out)."""
    logout(request)
    return redirect("console:login")


@require_role("viewer")
def home(request: HttpRequest) -> HttpResponse:
    return redirect("console:fleet")
