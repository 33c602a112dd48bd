"""Devices and people (admin): register a gate's key, refuse an existing id unless replacing and a
key of another gate always, disable and enable; users and roles. Every change audited."""

from __future__ import annotations

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.contrib.auth.models import User

from gate.codes.keys import public_pem
from gate.collector.models import AuditEntry, Device
from gate.collector.roles import role_of
from gate.devicesig import public_key_b64
from tests.collector.console.conftest import PASSWORD, scan, token_of


def pem() -> tuple[str, Ed25519PrivateKey]:
    key = Ed25519PrivateKey.generate()
    return public_pem(key.public_key()).decode(), key


def test_registering_a_gate_lets_it_upload_and_is_audited(console, client_as):
    text, key = pem()
    answer = client_as("admin").post("/console/devices", {"device_id": "gate-new", "public_key": text})
    assert answer.status_code == 302
    assert Device.objects.get(pk="gate-new").public_key == public_key_b64(key.public_key())
    uploaded = console.upload([scan("gate-new")], key=key, device_id="gate-new")
    assert uploaded.status_code == 200 and len(uploaded.json()["accepted"]) == 1
    entry = AuditEntry.objects.get(action="device.add")
    assert entry.what["device_id"] == "gate-new"


def test_an_existing_id_is_refused_unless_replace_is_ticked(console, client_as):
    client = client_as("admin")
    first, _ = pem()
    second, new_key = pem()
    client.post("/console/devices", {"device_id": "g", "public_key": first})
    refused = client.post("/console/devices", {"device_id": "g", "public_key": second})
    assert refused.status_code == 400 and "g" in refused.content.decode()
    asked = client.post("/console/devices", {"device_id": "g", "public_key": second, "replace": "on"})
    assert asked.status_code == 200 and 'id="confirm-form"' in asked.content.decode()
    assert "更换闸机 g 的密钥？" in asked.content.decode() and "涉及 1 台闸机。" in asked.content.decode()
    assert Device.objects.get(pk="g").public_key != public_key_b64(new_key.public_key())  # not yet
    assert client.post("/console/devices", {"device_id": "g", "public_key": second,
                                            "replace": "on", "confirmed": "yes"}).status_code == 302
    assert Device.objects.get(pk="g").public_key == public_key_b64(new_key.public_key())
    assert [e.action for e in AuditEntry.objects.order_by("id")] == ["device.add", "device.replace"]


def test_a_key_of_another_gate_and_a_key_that_is_no_key_are_refused(console, client_as):
    client = client_as("admin")
    text, _ = pem()
    client.post("/console/devices", {"device_id": "g1", "public_key": text})
    assert client.post("/console/devices", {"device_id": "g2", "public_key": text}).status_code == 400
    bad = client.post("/console/devices", {"device_id": "g3", "public_key": "hello"})
    assert bad.status_code == 400 and "Ed25519" in bad.content.decode()
    assert not Device.objects.filter(pk__in=["g2", "g3"]).exists()


def test_a_disabled_gate_is_refused_by_the_device_api_until_enabled(console, client_as):
    client = client_as("admin")
    asked = client.post("/console/devices/gate-test-0001/disable")
    assert asked.status_code == 200 and "停用闸机 gate-test-0001？" in asked.content.decode()
    assert console.upload([scan()]).status_code == 200  # asking disables nothing
    assert client.post("/console/devices/gate-test-0001/disable",
                       {"confirmed": "yes"}).status_code == 302
    assert console.upload([scan()]).status_code == 403
    assert client.post("/console/devices/gate-test-0001/enable").status_code == 302
    assert console.upload([scan()]).status_code == 200
    assert [e.action for e in AuditEntry.objects.order_by("id")] == ["device.disable", "device.enable"]
    assert client.post("/console/devices/nope/disable").status_code == 404


def test_device_changes_need_the_csrf_token(console, client_as):
    client = client_as("admin", enforce_csrf=True)
    assert client.post("/console/devices/gate-test-0001/disable").status_code == 403
    assert Device.objects.get(pk="gate-test-0001").enabled
    token = token_of(client.get("/console/devices"))
    assert client.post("/console/devices/gate-test-0001/disable",
                       {"csrfmiddlewaretoken": token, "confirmed": "yes"}).status_code == 302


def test_an_admin_adds_a_person_with_a_role_who_can_then_sign_in(console, client_as):
    from django.test import Client

    client = client_as("admin")
    answer = client.post("/console/users", {"username": "zhao", "role": "tracer",
                                            "password": PASSWORD})
    assert answer.status_code == 302
    assert role_of(User.objects.get(username="zhao")) == "tracer"
    assert AuditEntry.objects.get(action="user.add").what == {"username": "zhao", "role": "tracer"}
    assert Client().post("/console/login", {"username": "zhao", "password": PASSWORD}).status_code == 302
    assert "zhao" in client.get("/console/users").content.decode()


def test_a_weak_password_or_a_taken_name_is_refused(console, client_as, person):
    person("viewer", "taken")
    client = client_as("admin")
    assert client.post("/console/users", {"username": "new", "role": "viewer",
                                          "password": "short"}).status_code == 400
    assert client.post("/console/users", {"username": "taken", "role": "viewer",
                                          "password": PASSWORD}).status_code == 400
    assert not User.objects.filter(username="new").exists()
    assert not AuditEntry.objects.exists()


def test_roles_change_and_people_are_disabled_and_enabled(console, client_as, person):
    user = person("viewer", "wang")
    client = client_as("admin")
    asked = client.post(f"/console/users/{user.pk}/role", {"role": "admin"})
    assert asked.status_code == 200 and "更改 wang 的角色？" in asked.content.decode()
    assert "从“值班员”改为“管理员”" in asked.content.decode()
    assert role_of(User.objects.get(pk=user.pk)) == "viewer"  # asking changes nothing
    assert client.post(f"/console/users/{user.pk}/role",
                       {"role": "admin", "confirmed": "yes"}).status_code == 302
    assert role_of(User.objects.get(pk=user.pk)) == "admin"
    assert client.post(f"/console/users/{user.pk}/role", {"role": "boss"}).status_code == 400
    assert client.post(f"/console/users/{user.pk}/disable").status_code == 302
    assert not User.objects.get(pk=user.pk).is_active
    assert client.post(f"/console/users/{user.pk}/enable").status_code == 302
    assert User.objects.get(pk=user.pk).is_active
    assert [e.action for e in AuditEntry.objects.order_by("id")] == \
        ["user.set_role", "user.disable", "user.enable"]


def test_an_admin_cannot_lock_themself_out(console, person):
    from django.test import Client

    admin = person("admin", "boss")
    client = Client()
    client.force_login(admin)
    assert client.post(f"/console/users/{admin.pk}/role", {"role": "viewer"}).status_code == 400
    assert client.post(f"/console/users/{admin.pk}/disable").status_code == 400
    assert role_of(User.objects.get(pk=admin.pk)) == "admin"


def test_an_id_outside_the_gates_alphabet_is_refused_in_the_pages_language(console, client_as):
    client = client_as("admin")
    text, _ = pem()
    before = set(Device.objects.values_list("pk", flat=True))
    for device_id in ("a/b", "..", "\x1b[31mred", "x" * 65, "闸机"):
        chinese = client.post("/console/devices", {"device_id": device_id, "public_key": text})
        assert chinese.status_code == 400
        assert "闸机编号为 1 至 64 个字母" in chinese.content.decode()
    client.post("/console/i18n/setlang/", {"language": "en"})
    english = client.post("/console/devices", {"device_id": "a/b", "public_key": text})
    assert "A gate id is 1 to 64 letters" in english.content.decode()
    assert set(Device.objects.values_list("pk", flat=True)) == before


def test_a_device_registered_before_ids_were_checked_still_lists_and_can_be_disabled(
        console, client_as):
    text, key = pem()
    Device.objects.create(device_id="north/gate", public_key=public_key_b64(key.public_key()))
    client = client_as("admin")
    page = client.get("/console/devices")
    assert page.status_code == 200 and "north/gate" in page.content.decode()
    assert client.post("/console/devices/north/gate/disable", {"confirmed": "yes"}).status_code == 302
    assert not Device.objects.get(pk="north/gate").enabled


def test_registration_refusals_are_in_the_pages_language(console, client_as):
    client = client_as("admin")
    text, _ = pem()
    client.post("/console/devices", {"device_id": "g1", "public_key": text})
    taken = client.post("/console/devices", {"device_id": "g2", "public_key": text}).content.decode()
    assert "此公钥已登记给闸机 g1。" in taken
    other, _ = pem()
    again = client.post("/console/devices", {"device_id": "g1", "public_key": other}).content.decode()
    assert "闸机 g1 已登记" in again and "--replace" not in again
    weak = client.post("/console/users", {"username": "new", "role": "viewer", "password": "short"})
    assert "密码不符合要求" in weak.content.decode()
