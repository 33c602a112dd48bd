"""`gate demo --console`: the demo footage through the kiosk, its records synced to a local
collector by a real sync round, and the console served with a demo admin whose sign-in is printed."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import requests
from click.testing import CliRunner

from gate.demo import make_footage

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def footage(tmp_path_factory) -> Path:
    return make_footage(tmp_path_factory.mktemp("footage"), ROOT / "keys" / "demo")


def sign_in(url: str, username: str, password: str) -> requests.Session:
    session = requests.Session()
    page = session.get(url + "login", timeout=10)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    answer = session.post(url + "login", data={"username": username, "password": password,
                                              "csrfmiddlewaretoken": token},
                          headers={"Referer": url + "login"}, timeout=10, allow_redirects=False)
    assert answer.status_code == 302, answer.text
    return session


def test_demo_console_syncs_the_footages_records_and_serves_them_to_the_printed_admin(
        footage, monkeypatch):
    import gate.cli.demo_cmd as demo_cmd
    from gate.cli import demo_console, main

    monkeypatch.setattr(demo_cmd, "footage_for", lambda config, video, keys: footage)
    seen: dict = {}

    def look(console: demo_console.DemoConsole) -> None:
        """While the console is served: what an operator would see, from outside the process."""
        session = sign_in(console.url, console.username, console.password)
        seen["fleet"] = session.get(console.url + "fleet", timeout=10).text
        seen["records"] = session.get(console.url + "records?venue=", timeout=10).text
        seen["alerts"] = session.get(console.url + "api/alerts", timeout=10).json()["alerts"]
        seen["anonymous"] = requests.get(console.url + "fleet", timeout=10, allow_redirects=False)
        seen["synced"] = console.synced

    monkeypatch.setattr(demo_console, "wait_until_stopped", look)
    result = CliRunner().invoke(main, ["demo", "--headless", "--console", "--console-port", "0"])
    assert result.exit_code == 0, result.output
    printed = re.search(r"console: (http://127\.0\.0\.1:\d+/console/)\s+\((\d+) records synced",
                        result.output)
    assert printed and int(printed.group(2)) == seen["synced"] > 0
    assert re.search(r"sign in as demo-admin with password \S{12,}", result.output)
    assert "gate-demo-0001" in seen["fleet"]
    row = seen["fleet"][seen["fleet"].index('<tr data-device="gate-demo-0001"'):]
    row = row[:row.index("</tr>")]
    assert "360102-012-north-gate" in row and "data-fault" not in row  # its venue; the kiosk runs
    trust_version = json.loads((ROOT / "keys" / "demo" / "trust" / "trustlist.json").read_text())["version"]
    cell = row[row.index('<td class="lists">'):]
    assert re.findall(r" (\d+)</span>", cell[:cell.index("</td>")]) == [str(trust_version), "1"]  # its trust and status lists
    assert len(re.findall(r'<tr data-record="', seen["records"])) == seen["synced"]
    assert {a["decision"] for a in seen["alerts"]} >= {"hold", "refer"}
    assert seen["anonymous"].status_code == 302


def test_a_console_port_in_use_is_one_line_and_exit_2(footage, monkeypatch):
    import socket

    import gate.cli.demo_cmd as demo_cmd
    from gate.cli import main

    monkeypatch.setattr(demo_cmd, "footage_for", lambda config, video, keys: footage)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = CliRunner().invoke(main, ["demo", "--headless", "--seconds", "1", "--console",
                                           "--console-port", str(port)])
    assert result.exit_code == 2
    assert f"cannot serve the console on 127.0.0.1:{port}" in result.output
    assert "Traceback" not in result.output
