"""Sign-in: Django's auth behind a throttle per account and per address, CSRF on the form,
sign-out by POST only; the console in Chinese by default and in English on request."""

from __future__ import annotations

import pytest
from django.db.models import F
from django.test import Client

from gate.collector.console import throttle
from tests.collector.console.conftest import PASSWORD, token_of


def sign_in(client: Client, name: str, password: str, address: str = "10.0.0.1"):
    return client.post("/console/login", {"username": name, "password": password},
                       REMOTE_ADDR=address)


def test_the_login_page_needs_no_session_and_says_sign_in(console):
    answer = Client().get("/console/login")
    assert answer.status_code == 200
    assert "登录" in answer.content.decode()


def test_a_right_password_signs_in_and_goes_to_the_page_asked_for(console, person):
    person("viewer", "ling")
    client = Client()
    answer = client.post("/console/login?next=/console/alerts",
                         {"username": "ling", "password": PASSWORD, "next": "/console/alerts"})
    assert answer.status_code == 302 and answer["Location"] == "/console/alerts"
    assert client.get("/console/alerts").status_code == 200


def test_next_never_leads_off_the_site(console, person):
    person("viewer", "ling")
    answer = Client().post("/console/login", {"username": "ling", "password": PASSWORD,
                                              "next": "https://evil.example/"})
    assert answer["Location"] == "/console/fleet"


def test_a_wrong_password_is_refused_with_one_line(console, person):
    person("viewer", "ling")
    answer = sign_in(Client(), "ling", "not it")
    assert answer.status_code == 401
    assert "用户名或密码错误" in answer.content.decode()


def test_a_disabled_user_cannot_sign_in(console, person):
    user = person("admin", "old")
    user.is_active = False
    user.save()
    assert sign_in(Client(), "old", PASSWORD).status_code == 401


def test_too_many_failures_for_one_account_refuse_even_the_right_password(console, person):
    person("viewer", "ling")
    for n in range(throttle.PER_ACCOUNT):
        assert sign_in(Client(), "ling", f"guess {n}", address=f"10.0.1.{n}").status_code == 401
    answer = sign_in(Client(), "LING", PASSWORD, address="10.9.9.9")
    assert answer.status_code == 429
    assert "登录失败次数过多" in answer.content.decode()
    # another account from another address is not held back
    person("viewer", "wei")
    assert sign_in(Client(), "wei", PASSWORD, address="10.9.9.8").status_code == 302


def test_too_many_failures_from_one_address_refuse_every_account_from_it(console, person):
    person("viewer", "ling")
    for n in range(throttle.PER_ADDRESS):
        sign_in(Client(), f"user{n}", "guess", address="10.0.0.66")
    assert sign_in(Client(), "ling", PASSWORD, address="10.0.0.66").status_code == 429
    assert sign_in(Client(), "ling", PASSWORD, address="10.0.0.67").status_code == 302


def test_failures_older_than_the_window_no_longer_count(console, person):
    from gate.collector.console.models import SignInCounter

    person("viewer", "ling")
    for n in range(throttle.PER_ACCOUNT):
        sign_in(Client(), "ling", f"guess {n}")
    assert sign_in(Client(), "ling", PASSWORD).status_code == 429
    SignInCounter.objects.update(window_start=F("window_start")
                                 - (throttle.WINDOW * 1.1).total_seconds())
    assert sign_in(Client(), "ling", PASSWORD).status_code == 302


def test_a_good_sign_in_clears_the_accounts_failures(console, person):
    person("viewer", "ling")
    for n in range(throttle.PER_ACCOUNT - 1):
        sign_in(Client(), "ling", f"guess {n}")
    assert sign_in(Client(), "ling", PASSWORD).status_code == 302
    for n in range(throttle.PER_ACCOUNT - 1):
        sign_in(Client(), "ling", f"guess {n}")
    assert sign_in(Client(), "ling", PASSWORD).status_code == 302


def test_the_login_form_is_protected_against_cross_site_posts(console, person):
    person("viewer", "ling")
    client = Client(enforce_csrf_checks=True)
    assert sign_in(client, "ling", PASSWORD).status_code == 403
    page = client.get("/console/login")
    token = token_of(page)
    answer = client.post("/console/login", {"username": "ling", "password": PASSWORD,
                                            "csrfmiddlewaretoken": str(token)})
    assert answer.status_code == 302


def test_sign_out_is_a_post_with_the_token_and_ends_the_session(console, client_as):
    client = client_as("viewer", enforce_csrf=True)
    assert client.get("/console/logout").status_code == 405
    assert client.post("/console/logout").status_code == 403
    token = token_of(client.get("/console/fleet"))
    assert client.post("/console/logout", {"csrfmiddlewaretoken": str(token)}).status_code == 302
    assert client.get("/console/fleet").status_code == 302


@pytest.mark.parametrize(("language", "words"), [("en", "Fleet"), ("zh-hans", "设备总览")])
def test_the_console_switches_language(console, client_as, language, words):
    client = client_as("viewer")
    answer = client.post("/console/i18n/setlang/", {"language": language, "next": "/console/fleet"})
    assert answer.status_code == 302
    page = client.get("/console/fleet").content.decode()
    assert f"<h1>{words}</h1>" in page


def test_chinese_is_the_default(console, client_as):
    assert "<h1>设备总览</h1>" in client_as("viewer").get("/console/fleet").content.decode()
