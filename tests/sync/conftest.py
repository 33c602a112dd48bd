"""A gate's side for the sync tests: its store, trust store and key, and Syncers made for it."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Iterator

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from gate.codes.trust import TrustStore
from gate.state.paths import state_paths
from gate.record import Record
from gate.store import Store
from gate.sync import Syncer, SyncSettings
from tests.synckit import (
    ALERT_EVERY, BACKLOG, DEVICE_ID, FakeTime, FaultyProxy, bulk_commit, commit_all, copy_store, make_records,
    make_trust_dir,
)

@dataclass
class Gate:
    """One gate's side: its record store, trust store and key, and Syncers made for it."""

    root: Path
    store: Store
    trust: TrustStore
    key: Ed25519PrivateKey
    ids: list[str] = field(default_factory=list)
    syncers: list[Syncer] = field(default_factory=list)

    def syncer(self, url: str, **overrides: Any) -> Syncer:
        """A Syncer for this gate; `overrides` may name SyncSettings fields and Syncer's seams alike."""
        options: dict[str, Any] = dict(
            url=url, device_id=DEVICE_ID, device_key=self.key, batch_size=250, timeout_s=5.0,
            sleep=lambda s: None, random=lambda: 0.5, venue_id="360102-012-north-gate",
            venue_type="residential",
        )
        options.update(overrides)
        named = {f.name for f in fields(SyncSettings)}
        settings = SyncSettings(**{k: v for k, v in options.items() if k in named})
        syncer = Syncer(self.store, self.trust, settings, **{k: v for k, v in options.items() if k not in named})
        self.syncers.append(syncer)
        return syncer

    def add(self, records: list[Record]) -> list[str]:
        ids = commit_all(self.store, records)
        self.ids += ids
        return ids


def _gate(root: Path, anchor: Ed25519PrivateKey, key: Ed25519PrivateKey,
          template: Path | None = None) -> Gate:
    store_path = root / "data" / "scans.db"
    if template is not None:
        copy_store(template, store_path)
    store = Store(store_path)
    trust = TrustStore(make_trust_dir(root / "trust", anchor), state_paths(store_path)[0])
    return Gate(root, store, trust, key)


def _close(g: Gate) -> None:
    for s in g.syncers:
        s.close()
    g.trust.close()
    g.store.close()


@pytest.fixture(scope="session")
def backlog_template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    """A closed store file holding BACKLOG records (3 of them alerts), made once per session."""
    path = tmp_path_factory.mktemp("backlog") / "scans.db"
    records = make_records(BACKLOG, alert_every=ALERT_EVERY)
    Store(path).close()
    ids = bulk_commit(path, records)
    with Store(path) as store:  # read back through the store's own API
        assert store.queue_depth() == BACKLOG and store.get(ids[-1]) == records[-1]
        assert len(store.pending_alerts(10)) == BACKLOG // ALERT_EVERY
    return path, ids


@pytest.fixture
def gate(tmp_path: Path, anchor_key: Ed25519PrivateKey, device_key: Ed25519PrivateKey) -> Iterator[Gate]:
    """A gate with an empty queue."""
    g = _gate(tmp_path / "gate", anchor_key, device_key)
    yield g
    _close(g)


@pytest.fixture
def backlogged_gate(tmp_path: Path, anchor_key: Ed25519PrivateKey, device_key: Ed25519PrivateKey,
                    backlog_template: tuple[Path, list[str]]) -> Iterator[Gate]:
    """A gate with BACKLOG records queued."""
    template, ids = backlog_template
    g = _gate(tmp_path / "gate", anchor_key, device_key, template)
    g.ids = list(ids)
    yield g
    _close(g)


@pytest.fixture
def proxies() -> Iterator[list[FaultyProxy]]:
    made: list[FaultyProxy] = []
    yield made
    for p in made:
        p.close()


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


@pytest.fixture(autouse=True)
def _no_kiosk_of_this_machine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The heartbeat asks the running kiosk for its faults: never a kiosk this machine may be running."""
    monkeypatch.setenv("GATE_RUNTIME_DIR", str(tmp_path / "run"))


@pytest.fixture
def kiosk(tmp_path: Path, pki: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A real kiosk in a thread with its control channel up (in tmp_path/run), as `gate run` starts it."""
    from tests.setup.kit import RunningGate, write_gate

    monkeypatch.setenv("GATE_RUNTIME_DIR", str(tmp_path / "run"))
    running = RunningGate.start(write_gate(tmp_path / "etc", pki.trust_dir, ""))
    yield running
    running.close()
