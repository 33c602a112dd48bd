"""The README followed literally: every command of its ```sh blocks, in order, typed at a new user's
shell (a clean environment, tests/journeys/userkit.py) in a fresh copy of the project, each ending
with exit status 0 and no traceback.

What the test does around the commands, and only that:

- ``/etc``, ``/var`` and ``/tmp`` are mapped to a temporary folder (in the commands and in the
  example configurations they read), and a port to a free one;
- the placeholders are filled: ``'JKM1:...'`` with a demo code, ``<hex>``/``<sub hex>`` with a subject,
  ``<since>`` with a time, the input files the README's comments describe (``codes.jsonl``,
  ``events.jsonl``, ``photo.jpg``) made; an optional ``[--flag]`` is left out, except ``[--once]``,
  which `gate sync` needs to return;
- the Pi that `scripts/install-pi.sh` leaves (it needs root and apt, so it is in `NOT_RUN`) is made
  as it makes it: the example configuration installed as ``/etc/gate/gate.toml``, the demo trust
  folder, and `scripts/provision.sh` run for real; this machine has no camera and no thermometer, so
  the configuration names a folder of pictures and the simulated sensor instead;
- `gate collector serve` runs in the background until the end, as the operator leaves it running.

Each command that is not run is in `NOT_RUN` with the reason; a command the README gains that is
neither runnable nor listed fails the test.
"""

from __future__ import annotations

import json
import re
import shutil
import socket
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.journeys.userkit import ROOT, TRACEBACK, VENV_BIN, User

README = ROOT / "README.md"
SHARED = ROOT.parent / "shared"
PASSWORD = "a long enough pass phrase"

# command prefix -> why the journey does not run it here
NOT_RUN: dict[str, str] = {
    "make demo": "the demo has its own journey (gate demo, the kiosk and the console); it is not run twice",
    "make test": "the suite this journey is part of",
    "systemctl ": "systemd manages the units on a Pi; there is none here",
    "sudo systemctl ": "systemd manages the units on a Pi; there is none here",
    "sudo scripts/install-pi.sh": "needs root and apt on a Pi; what it leaves in /etc is made by `installed_pi`, "
                                  "which installs the example configuration and runs scripts/provision.sh for real",
    "sudo cp -r keys/demo/trust/. /etc/gate/keys/trust/": "done by `installed_pi` before the first command (the "
                                                          "README's sections describe one Pi; this one comes last)",
    "gate run ": "the appliance runs until it is stopped, on a camera and GPIO; the kiosk's own tests run it",
    "gate demo": "the demo has its own journey; its footage takes half a minute",
}
# command prefix -> what the journey adds, and why
ADDED: dict[str, tuple[str, str]] = {
    "gate hardware test": (" --simulate --yes --step-seconds 0",
                           "no GPIO on this machine (mock pins) and no one to answer the prompts"),
}
INPUT: dict[str, str] = {"gate setup passwd": PASSWORD + "\n",  # one line from stdin when not a terminal
                         "gate collector add-user": PASSWORD + "\n"}


def sh_commands(text: str) -> list[str]:
    """Every command line of the ```sh blocks of `text`, in order (continuations joined, comment-only
    and empty lines dropped)."""
    commands: list[str] = []
    for block in re.findall(r"^```sh\n(.*?)^```", text, flags=re.S | re.M):
        for line in block.replace("\\\n", " ").splitlines():
            if line.strip() and not line.lstrip().startswith("#"):
                commands.append(line.strip())
    return commands


def without_comment(line: str) -> str:
    """`line` up to a ``#`` that starts a shell comment (outside quotes, after a blank)."""
    quote = ""
    for i, ch in enumerate(line):
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch == "#" and (i == 0 or line[i - 1].isspace()):
            return line[:i].rstrip()
    return line


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Machine:
    """The temporary machine: the mapped root, the user in the project's copy, the values placeholders take."""

    root: Path
    user: User
    code: str
    sub: str
    port: int

    def mapped(self, text: str) -> str:
        return re.sub(r"(?<![\w.])/(etc|var|tmp)/", lambda m: f"{self.root}{m.group(0)}", text)

    def filled(self, command: str) -> str:
        """`command` with the paths mapped and the placeholders filled."""
        command = self.mapped(without_comment(command))
        command = command.replace("'JKM1:...'", f"'{self.code}'")
        command = command.replace("<sub hex>", self.sub).replace("<hex>", self.sub)
        command = command.replace("<since>", str(int(time.time()) - 3600))
        command = command.replace("[--once]", "--once")
        command = re.sub(r"\s*\[--[^\]]*\]", "", command)  # an optional [--flag ...]: left out
        command = re.sub(r"\b8470\b", str(self.port), command)
        for prefix, (extra, _why) in ADDED.items():
            if command.startswith(prefix):
                command += extra
        return command


def _gate(user: User, *args: str) -> str:
    return user.gate(*args).ok().stdout


def installed_pi(root: Path) -> Machine:
    """A fresh copy of the project in `root`/clone, and /etc as `scripts/install-pi.sh` leaves it."""
    clone = root / "clone"
    clone.mkdir(parents=True)
    shutil.copytree(ROOT / "keys", clone / "keys")
    shutil.copytree(ROOT / "scripts", clone / "scripts")
    home = root / "home"
    home.mkdir()
    user = User(home=home, cwd=clone)
    machine = Machine(root, user, "", "", _free_port())
    (clone / "firmware_config").mkdir()
    for example in (ROOT / "firmware_config").glob("*.toml"):  # their /etc and /var paths: the mapped ones
        (clone / "firmware_config" / example.name).write_text(machine.mapped(example.read_text()))
    if SHARED.is_dir():
        (root / "shared").symlink_to(SHARED)  # ../shared beside the clone, as beside the project
    etc = root / "etc" / "gate"
    (etc / "keys").mkdir(parents=True)
    shutil.copy(clone / "firmware_config" / "residential.toml", etc / "gate.toml")
    shutil.copytree(clone / "keys" / "demo" / "trust", etc / "keys" / "trust")  # the README's `sudo cp -r ...`
    (root / "var" / "lib" / "gate").mkdir(parents=True)
    (root / "tmp").mkdir()
    provisioned = user.run("bash", "scripts/provision.sh", "--config", str(etc / "gate.toml"),
                           "--gate", str(VENV_BIN / "gate")).ok()
    assert "gate collector add-device gate-nc-0001 " in provisioned.stdout
    # the user's own input files the README's comments describe
    code = _gate(user, "code", "issue", "--key", "keys/demo/issuer-cn-jx.demo.key", "--issuer", "CN-JX",
                 "--status", "green", "--subject", "alice", "--home", "360102-012").strip()
    sub = json.loads(_gate(user, "verify", "--trust", "keys/demo/trust", "--no-status-list", code))["sub"]
    (clone / "events.jsonl").write_text(json.dumps({"t": int(time.time()), "qr": code, "temp_c": 36.5}) + "\n")
    if SHARED.is_dir():
        vectors = json.loads((SHARED / "vectors" / "codes.json").read_text())["vectors"][:3]
        (clone / "codes.jsonl").write_text("".join(json.dumps({"qr": v["qr"], "now": float(v["now"])}) + "\n"
                                                   for v in vectors))
    _qr_photo(code, clone / "photo.jpg")
    # this machine's stand-ins for the Pi's camera and thermometer, so the doctor finds them
    (root / "camera").mkdir()
    shutil.copy(clone / "photo.jpg", root / "camera" / "frame-0001.jpg")
    for key, value in (("camera.source", str(root / "camera")), ("temperature.sensor", "simulated")):
        _gate(user, "config", "set", key, value, "--config", str(etc / "gate.toml"))
    machine.code, machine.sub = code, sub
    return machine


def _qr_photo(text: str, path: Path) -> None:
    """A photo of a phone's QR code: the code drawn, on a grey ground, saved as JPEG."""
    import cv2
    import numpy as np
    import zxingcpp

    symbol = zxingcpp.create_barcode(text, zxingcpp.BarcodeFormat.QRCode, ec_level="M")
    image = np.asarray(zxingcpp.write_barcode_to_image(symbol, scale=6, add_quiet_zones=True), dtype=np.uint8)
    ground = np.full((image.shape[0] + 80, image.shape[1] + 80), 160, dtype=np.uint8)
    ground[40:-40, 40:-40] = image
    assert cv2.imwrite(str(path), ground)


def _not_run(command: str) -> str | None:
    for prefix, why in NOT_RUN.items():
        if command.startswith(prefix):
            return why
    return None


def _serve(user: User, command: str) -> subprocess.Popen[str]:
    proc = subprocess.Popen(["bash", "-c", f"exec {command}"], cwd=user.cwd, env=user.env(),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    assert proc.stderr is not None
    said = []
    for line in proc.stderr:
        said.append(line)
        if line.startswith("collector on http://"):
            threading.Thread(target=proc.stderr.read, daemon=True).start()  # a full pipe would stop it
            return proc
    proc.wait(10)
    raise AssertionError(f"{command} ended before listening:\n" + "".join(said))


def test_the_readme_has_commands_to_follow():
    commands = sh_commands(README.read_text())
    assert len(commands) > 20
    assert any(c.startswith("gate collector add-user") for c in commands)


def test_every_command_of_the_readme_works_as_written(tmp_path):
    machine = installed_pi(tmp_path)
    servers: list[subprocess.Popen[str]] = []
    ran: list[str] = []
    try:
        for command in sh_commands(README.read_text()):
            if _not_run(command):
                continue
            if "../shared/" in command and not SHARED.is_dir():
                continue  # the shared vectors are not beside this checkout (common.md: skip, never copy)
            line = machine.filled(command)
            if line.startswith("gate collector serve"):
                servers.append(_serve(machine.user, line))
                ran.append(command)
                continue
            input_ = next((text for prefix, text in INPUT.items() if line.startswith(prefix)), None)
            done = machine.user.run("bash", "-c", line, input=input_, timeout=60)
            assert done.returncode == 0, f"README: {command}\nran: {line}\n{done._say()}"
            assert TRACEBACK not in done.stdout + done.stderr, f"README: {command}\n{done._say()}"
            ran.append(command)
    finally:
        for proc in servers:  # as systemd stops it (SIGINT is ignored where the suite runs in the background)
            proc.terminate()
            proc.wait(10)
    assert any(c.startswith("gate collector add-device") for c in ran)


def test_every_command_not_run_is_listed_with_its_reason():
    for command in sh_commands(README.read_text()):
        if not command.startswith("gate ") and not _not_run(command):
            pytest.fail(f"README command neither run nor listed in NOT_RUN: {command}")
