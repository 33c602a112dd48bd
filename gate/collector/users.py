"""The console's people (console.md): add a user with a role, change the role, disable a user.

Passwords are hashed by Django's auth (salted PBKDF2) and checked against the validators in
the settings. Work on the database alias made current with `gate.collector.django_db.activate`.
"""

from __future__ import annotations

from django.contrib.auth.models import Group, User
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction

from gate.collector.django_db import current_alias
from gate.collector.roles import ROLES
from gate.errors import GateError


class UserError(GateError, ValueError):
    """A refused change; the message is one sentence for a person."""


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise UserError(f"unknown role {role!r}; use one of {', '.join(ROLES)}")


def add_user(name: str, role: str, password: str) -> User:
    """A new active user `name` with `role`; UserError if the name is taken or the password weak."""
    _check_role(role)
    if not name or len(name) > 150:
        raise UserError("a user name is 1 to 150 characters")
    if User.objects.filter(username=name).exists():
        raise UserError(f"user {name} already exists; use set-role to change the role")
    try:
        validate_password(password, User(username=name))
    except ValidationError as exc:
        raise UserError("password refused: " + " ".join(exc.messages)) from exc
    with transaction.atomic(using=current_alias()):
        user = User.objects.create_user(username=name, password=password)
        user.groups.add(Group.objects.get(name=role))
    return user


def set_role(name: str, role: str) -> User:
    """Give `name` exactly `role` (replacing the one it had)."""
    _check_role(role)
    user = User.objects.filter(username=name).first()
    if user is None:
        raise UserError(f"no user {name}; add it with 'gate collector add-user'")
    with transaction.atomic(using=current_alias()):
        user.groups.remove(*Group.objects.filter(name__in=ROLES))
        user.groups.add(Group.objects.get(name=role))
    return user


def disable_user(name: str) -> User:
    """Stop `name` from signing in (the user and their audit entries stay)."""
    user = User.objects.filter(username=name).first()
    if user is None:
        raise UserError(f"no user {name}")
    user.is_active = False
    user.save(update_fields=["is_active"])
    return user
