"""`gate sync --config FILE [--once]`: exit 0 only with an empty queue, survives kill -9, ends on SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Iterator

import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from gate.cli import main
from gate.cli.sync_cmd import PROGRESS_MIN_RECORDS, progress_bar
from gate.store import Store
from tests.synckit import (
    FaultyProxy, bulk_commit, collector_holds_each_once, commit_all, make_records, make_trust_dir,
    write_device_key,
)

ROOT = Path(__file__).resolve().parents[2]

CONFIG = """\
[device]
id = "gate-test-0001"
key = "device.key"

[venue]
id = "test-gate"
type = "residential"
community_codes = ["360102-012"]

[trust]
dir = "trust"

[store]
path = "data/scans.db"

[collector]
url = "{url}"
batch_size = {batch_size}
timeout_s = {timeout_s}
"""


class GateFolder:
    """A gate's configuration folder: config, device key, trust anchors, record store."""

    def __init__(self, root: Path, key: Ed25519PrivateKey, anchor: Ed25519PrivateKey) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        self.config = root / "gate.toml"
        self.store_path = root / "data" / "scans.db"
        write_device_key(root / "device.key", key)
        make_trust_dir(root / "trust", anchor)
        self.configure("")

    def configure(self, url: str, batch_size: int = 100, timeout_s: float = 5) -> None:
        self.config.write_text(CONFIG.format(url=url, batch_size=batch_size, timeout_s=timeout_s))

    def queue(self, n: int, bulk: bool = False, **options: Any) -> list[str]:
        records = make_records(n, **options)
        if bulk:
            Store(self.store_path).close()
            return bulk_commit(self.store_path, records)
        with Store(self.store_path) as store:
            return commit_all(store, records)

    def queue_depth(self) -> int:
        with Store(self.store_path) as store:
            return store.queue_depth()

    def command(self, *extra: str) -> list[str]:
        return [sys.executable, "-m", "gate.cli", "sync", "--config", str(self.config), *extra]


@pytest.fixture
def folder(tmp_path: Path, device_key: Ed25519PrivateKey, anchor_key: Ed25519PrivateKey) -> GateFolder:
    return GateFolder(tmp_path / "gate", device_key, anchor_key)


@pytest.fixture
def proxies() -> Iterator[list[FaultyProxy]]:
    made: list[FaultyProxy] = []
    yield made
    for p in made:
        p.close()


def run(folder: GateFolder, *extra: str) -> Any:
    return CliRunner().invoke(main, ["sync", "--config", str(folder.config), *extra])


def env() -> dict[str, str]:
    e = dict(os.environ)
    e["PYTHONPATH"] = str(ROOT)
    e["NO_PROXY"] = "127.0.0.1,localhost"
    for var in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        e.pop(var, None)
    return e


def test_once_exits_0_when_the_queue_is_emptied(folder, collector_factory):
    collector = collector_factory()
    ids = folder.queue(250)
    folder.configure(collector.url)
    result = run(folder, "--once")
    assert result.exit_code == 0, result.output
    assert "250 uploaded" in result.output and "0 still queued" in result.output
    assert collector_holds_each_once(collector, ids)
    assert folder.queue_depth() == 0


def test_once_counts_what_the_collector_newly_stored_alerts_included(folder, collector_factory):
    collector = collector_factory()
    ids = folder.queue(3, alert_every=3)  # three new records, one of them an alert
    folder.configure(collector.url)
    result = run(folder, "--once")
    assert result.exit_code == 0, result.output
    assert "3 uploaded, 0 already there, 0 rejected, 1 alerts, 0 still queued" in result.output
    assert collector_holds_each_once(collector, ids)


@pytest.mark.parametrize("peer", ["drip", "silent", "huge"])
def test_once_against_a_peer_that_holds_its_answers_ends_with_exit_1_and_keeps_everything(
        folder, collector_factory, proxies, peer):
    collector = collector_factory()
    every = {n: peer for n in range(1, 20)}
    proxy = FaultyProxy(("127.0.0.1", collector.server.port), drip_s=0.05,
                        plans={path: every for path in ("/v1/trustlist", "/v1/statuslist",
                                                        "/v1/scans", "/v1/heartbeat")})
    proxies.append(proxy)
    folder.queue(5)
    folder.configure(proxy.url, timeout_s=0.5)
    result = run(folder, "--once")
    assert result.exit_code == 1, result.output
    assert "5 still queued" in result.output and "/v1/scans" in result.output
    assert "Traceback" not in result.output and folder.queue_depth() == 5


def test_once_exits_1_when_records_remain_because_the_collector_is_away(folder):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    folder.queue(5)
    folder.configure(f"http://127.0.0.1:{port}")
    result = run(folder, "--once")
    assert result.exit_code == 1
    assert "5 still queued" in result.output and "next try in" in result.output
    assert folder.queue_depth() == 5


def test_once_with_nothing_queued_exits_0(folder, collector_factory):
    folder.configure(collector_factory().url)
    assert run(folder, "--once").exit_code == 0


def test_an_empty_collector_url_says_uploads_are_off(folder):
    result = run(folder, "--once")
    assert result.exit_code == 0 and result.output.startswith("uploads are off")
    folder.queue(3)
    result = run(folder, "--once")
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        f"uploads are off: collector.url is empty in {folder.config}; 3 records stay queued."]


@pytest.mark.parametrize("damage", ["missing", "garbage"])
def test_a_missing_or_unreadable_device_key_is_one_line_and_exit_2(folder, collector_factory, damage):
    folder.configure(collector_factory().url)
    key = folder.root / "device.key"
    if damage == "missing":
        key.unlink()
    else:
        key.write_text("not a key\n")
    result = run(folder, "--once")
    assert result.exit_code == 2
    assert len(result.output.strip().splitlines()) == 1
    assert "device key" in result.output and str(key) in result.output


def test_a_bad_configuration_is_exit_2(folder):
    folder.config.write_text("[device]\nid = 3\n")
    result = run(folder, "--once")
    assert result.exit_code == 2 and len(result.output.strip().splitlines()) == 1


def test_a_progress_bar_only_on_a_terminal_and_for_a_long_backlog():
    assert progress_bar(PROGRESS_MIN_RECORDS * 10, tty=False) is None
    assert progress_bar(PROGRESS_MIN_RECORDS - 1, tty=True) is None
    bar = progress_bar(PROGRESS_MIN_RECORDS * 10, tty=True)
    assert bar is not None and bar.length == PROGRESS_MIN_RECORDS * 10


def test_kill_9_mid_round_then_a_second_run_delivers_each_record_once(folder, collector_factory,
                                                                     proxies):
    collector = collector_factory()
    proxy = FaultyProxy(("127.0.0.1", collector.server.port), delay_s=0.04)
    proxies.append(proxy)
    ids = folder.queue(3000, bulk=True)
    folder.configure(proxy.url, batch_size=100)

    first = subprocess.Popen(folder.command("--once"), env=env(), cwd=ROOT,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 20
    while collector.db.count_records() < 500 and time.monotonic() < deadline:
        time.sleep(0.01)
    first.send_signal(signal.SIGKILL)
    assert first.wait(10) == -signal.SIGKILL
    stored_at_kill = collector.db.count_records()
    assert 500 <= stored_at_kill < 3000  # killed in the middle of the round
    assert folder.queue_depth() > 0

    proxy.delay_s = 0.0
    second = subprocess.run(folder.command("--once"), env=env(), cwd=ROOT, capture_output=True,
                            text=True, timeout=60)
    assert second.returncode == 0, second.stdout + second.stderr
    assert collector_holds_each_once(collector, ids)
    assert folder.queue_depth() == 0


def test_without_once_it_runs_until_sigterm_and_ends_cleanly(folder, collector_factory):
    collector = collector_factory()
    ids = folder.queue(300, bulk=True)
    folder.configure(collector.url)
    forever = subprocess.Popen(folder.command(), env=env(), cwd=ROOT, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 20
        while collector.db.count_records() < 300 and time.monotonic() < deadline:
            time.sleep(0.02)
        more = folder.queue(5)  # the kiosk goes on recording
        while collector.db.count_records() < 305 and time.monotonic() < deadline:
            time.sleep(0.02)
        running = forever.poll() is None  # still running beside the kiosk
    finally:
        forever.send_signal(signal.SIGTERM)
        out, err = forever.communicate(timeout=10)
    assert running, err
    assert forever.returncode == 0, err
    assert collector_holds_each_once(collector, ids + more), err
    assert "uploaded" in err  # one line per round that did something (stdout is no terminal)


def test_without_once_it_follows_a_changed_configuration_by_starting_again_on_it(folder, collector_factory):
    import hashlib

    collector = collector_factory()
    folder.configure(collector.url)
    before = hashlib.sha256(folder.config.read_bytes()).hexdigest()
    forever = subprocess.Popen(folder.command(), env=env(), cwd=ROOT, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)

    def reported() -> str | None:
        beat = collector.latest_heartbeat()
        return beat[1]["config_sha256"] if beat else None

    try:
        deadline = time.monotonic() + 60
        while reported() != before and time.monotonic() < deadline:
            time.sleep(0.05)
        assert reported() == before
        folder.configure(collector.url, batch_size=7)  # what the setup page or `config set` does
        after = hashlib.sha256(folder.config.read_bytes()).hexdigest()
        while reported() != after and time.monotonic() < deadline:
            time.sleep(0.05)
        assert reported() == after  # the heartbeat of a sync started again on the new file
        running = forever.poll() is None
    finally:
        forever.send_signal(signal.SIGTERM)
        out, err = forever.communicate(timeout=20)
    assert running and forever.returncode == 0, err
    assert "changed: sync starts again with it" in err


def test_a_changed_configuration_that_does_not_load_is_ignored_and_said_once(tmp_path, caplog):
    from gate.cli.sync_cmd import ConfigWatch

    path = tmp_path / "gate.toml"
    path.write_text('[device]\nid = "g"\n[venue]\nid = "v"\ntype = "metro"\n')
    now = [0.0]
    watch = ConfigWatch(path, every_s=5.0, monotonic=lambda: now[0])
    assert watch() is False  # unchanged, and not looked at before every_s
    path.write_text(path.read_text() + "[temperature]\nfever_c = 99\n")
    assert watch() is False  # too soon to look
    now[0] = 6.0
    with caplog.at_level("WARNING", logger="gate.sync"):
        assert watch() is False
        now[0] = 12.0
        assert watch() is False
    assert len([r for r in caplog.records if "cannot be used" in r.getMessage()]) == 1
    path.write_text(path.read_text().replace("fever_c = 99", "fever_c = 37.5"))
    now[0] = 18.0
    assert watch() is True
