"""Roles (console.md): the highest role group wins; the guard answers 401/redirect/403."""

from __future__ import annotations

import json
import uuid

import pytest
from django.contrib.auth.models import AnonymousUser, Group, User
from django.http import HttpResponse
from django.test import RequestFactory

from gate.collector.roles import ROLES, has_role, require_role, role_of


def user_with(*roles: str, **fields) -> User:
    user = User.objects.create_user(username=f"u-{uuid.uuid4().hex[:8]}", **fields)
    user.groups.add(*Group.objects.filter(name__in=roles))
    return user


@require_role("tracer")
def tracer_view(request):
    return HttpResponse("ok")


def call(user, path: str = "/console/trace", **headers):
    request = RequestFactory().get(path, **headers)
    request.user = user
    return tracer_view(request)


def test_the_three_roles_exist_as_groups_after_migration(alias):
    assert sorted(Group.objects.values_list("name", flat=True)) == sorted(ROLES)


def test_the_highest_role_group_is_the_users_role(alias):
    assert role_of(user_with("viewer", "admin")) == "admin"
    assert role_of(user_with()) is None
    assert role_of(user_with("tracer", is_active=False)) is None
    assert role_of(User.objects.create_superuser("root", password="x" * 12)) == "admin"
    assert role_of(AnonymousUser()) is None
    assert has_role(user_with("tracer"), "viewer") and not has_role(user_with("viewer"), "tracer")


def test_anonymous_pages_redirect_to_the_login_and_json_gets_401(alias):
    page = call(AnonymousUser())
    assert page.status_code == 302
    assert page["Location"] == "/console/login?next=/console/trace"
    api = call(AnonymousUser(), "/console/api/trace")
    assert (api.status_code, json.loads(api.content)) == (401, {"error": "login_required"})
    accept = call(AnonymousUser(), HTTP_ACCEPT="application/json")
    assert accept.status_code == 401


def test_a_role_below_gets_403_and_the_role_or_above_passes(alias):
    assert call(user_with("viewer")).status_code == 403
    denied = call(user_with("viewer"), "/console/api/trace")
    assert json.loads(denied.content) == {"error": "forbidden", "role_needed": "tracer"}
    assert call(user_with("tracer")).content == b"ok"
    assert call(user_with("admin")).content == b"ok"


def test_an_unknown_role_cannot_guard_a_view():
    with pytest.raises(ValueError, match="unknown role"):
        require_role("superuser")
