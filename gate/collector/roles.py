"""The console's three roles (console.md) and the decorator that guards a view with one.

A user's role is the highest of the auth Groups ``viewer`` < ``tracer`` < ``admin`` they are in
(a superuser counts as ``admin``; an inactive user has none). `require_role(role)` answers a
request that may not see the view:

- anonymous: 401 ``{"error": "login_required"}`` for a JSON request (`wants_json`), else a
  redirect to the login page (``settings.LOGIN_URL`` with ``?next=``);
- signed in below `role`: 403 (``{"error": "forbidden", "role_needed": role}`` for JSON;
  else the answer of the urlconf's 403 handler to `PermissionDenied(role)`: the console's page).
"""

from __future__ import annotations

import functools
from typing import Any, Callable

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.core.handlers.exception import response_for_exception
from django.http import HttpRequest, HttpResponse, JsonResponse

ROLES: tuple[str, ...] = ("viewer", "tracer", "admin")


def rank(role: str | None) -> int:
    """0 for no role, then 1, 2, 3 in the order of `ROLES`."""
    return ROLES.index(role) + 1 if role in ROLES else 0


def role_of(user: Any) -> str | None:
    """The user's role, or None (anonymous, inactive, or in no role group)."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return None
    if user.is_superuser:
        return "admin"
    names = set(user.groups.values_list("name", flat=True))
    best = None
    for role in ROLES:
        if role in names:
            best = role
    return best


def has_role(user: Any, role: str) -> bool:
    """True when the user's role is `role` or above."""
    return rank(role_of(user)) >= rank(role)


def wants_json(request: HttpRequest) -> bool:
    """A request answered in JSON: ``/console/api/...`` or one that accepts JSON but not HTML."""
    if request.path.startswith("/console/api/") or request.path.endswith(".json"):
        return True
    accept = request.headers.get("Accept", "")
    return "application/json" in accept and "text/html" not in accept


def require_role(role: str) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    """Decorate a view so only signed-in users with `role` or above reach it."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; one of {', '.join(ROLES)}")

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @functools.wraps(view)
        def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            user = getattr(request, "user", None)
            if user is None or not user.is_authenticated or not user.is_active:
                if wants_json(request):
                    return JsonResponse({"error": "login_required"}, status=401)
                return redirect_to_login(request.get_full_path(), settings.LOGIN_URL)
            if not has_role(user, role):
                if wants_json(request):
                    return JsonResponse({"error": "forbidden", "role_needed": role}, status=403)
                # the urlconf's 403 handler answers (the console's page inside its frame)
                return response_for_exception(request, PermissionDenied(role))
            return view(request, *args, **kwargs)

        guarded.required_role = role  # type: ignore[attr-defined]
        return guarded

    return decorator
