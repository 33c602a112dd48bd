"""`gate keys` and `gate code issue`: an authority's whole round, from keys to a verified code."""

from __future__ import annotations

import json
import os

from click.testing import CliRunner

from gate.cli import main


def gate(*args: str):
    result = CliRunner().invoke(main, list(args))
    return result


def test_keys_lists_and_codes_make_a_working_trust_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert gate("keys", "new", "anchor", "--out", "a/anchor.key").exit_code == 0
    assert gate("keys", "new", "issuer", "--alg", "ES256", "--out", "i/sx.key").exit_code == 0
    assert oct(os.stat("a/anchor.key").st_mode & 0o777) == "0o600"
    os.makedirs("trust/anchors")
    os.rename("a/anchor.pem", "trust/anchors/anchor.pem")
    made = gate("keys", "trustlist", "--anchor", "a/anchor.key", "--out", "trust/trustlist.json", "--version", "4",
                "--issued-at", "1795000000", "--issuer", "CN-ZJ-SX=i/sx.pem", "--max-validity", "3600")
    assert made.exit_code == 0, made.output
    sub = "ab" * 16
    made = gate("keys", "statuslist", "--anchor", "a/anchor.key", "--out", "trust/statuslist.json", "--version", "2",
                "--issued-at", "1795000000", "--entry", f"CN-ZJ-SX:{sub}:red:1795000100")
    assert made.exit_code == 0, made.output
    issued = gate("code", "issue", "--key", "i/sx.key", "--issuer", "CN-ZJ-SX", "--status", "green", "--sub", sub,
                  "--iat", "1795000000", "--valid-for", "600", "--home", "330602-007", "--itinerary")
    qr = issued.output.strip()
    assert qr.startswith("JKM1:")
    result = json.loads(gate("verify", "--trust", "trust", "--now", "1795000300", qr).output)
    assert (result["valid"], result["status"], result["status_raised"]) == (True, "red", True)
    assert (result["home"], result["itinerary_risk"]) == ("330602-007", True)


def test_keys_are_never_overwritten(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    gate("keys", "new", "device", "--out", "device.key")
    again = gate("keys", "new", "device", "--out", "device.key")
    assert again.exit_code == 2
    assert "already exists" in again.output


def test_a_bad_status_entry_is_a_one_line_error(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    gate("keys", "new", "anchor", "--out", "anchor.key")
    result = gate("keys", "statuslist", "--anchor", "anchor.key", "--out", "s.json", "--version", "1", "--entry", "nonsense")
    assert result.exit_code == 2
    assert "--entry" in result.output


def test_code_issue_needs_one_subject(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    gate("keys", "new", "issuer", "--out", "i.key")
    result = gate("code", "issue", "--key", "i.key", "--issuer", "CN-JX", "--status", "green")
    assert result.exit_code == 2
