"""The parts one gate's decision path holds (lists, clock, record store, body, thermometer) and
what the kiosk asks of them, so the kiosk never reaches into the parts."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from gate.clock import TimeFloor
from gate.codes.trust import TrustStore
from gate.hardware.body import GateBody
from gate.hardware.thermometer import Reading, Thermometer
from gate.store import Store, StoreUnavailable
from gate.store.holder import StoreHolder
from gate.vitals import Vitals, vitals_of
from gate.vocabulary import FAULT_SIGNAL


class GateParts:
    """The parts behind their seams; `gate.pipeline.Pipeline` decides scans with them."""

    trust: TrustStore
    body: GateBody
    thermometer: Thermometer
    floor: TimeFloor
    clock: Callable[[], float]
    held: StoreHolder

    # -- the record store -------------------------------------------------------------------

    @property
    def store(self) -> Store | None:
        """The record store while it is open, else None."""
        return self.held.store

    @store.setter
    def store(self, store: Store | None) -> None:
        self.held.store = store

    @property
    def store_path(self) -> Path | None:
        return self.held.path

    @store_path.setter
    def store_path(self, path: Path | None) -> None:
        self.held.path = path

    @property
    def store_failure(self) -> StoreUnavailable | None:
        """Why the record store is shut, while it is."""
        return self.held.failure

    def store_recovered(self) -> int:
        """Records recovered from a damaged store while its fault is kept (0: none)."""
        return self.held.recovered()

    def store_faults(self) -> list[str]:
        """The store's gate.faults codes now (store_read_only, store_full, store_corrupt, ...)."""
        return self.held.faults()

    def state_folder(self) -> Path | None:
        """The folder of the gate's state files (beside the record store)."""
        return Path(self.store_path).parent if self.store_path is not None else None

    # -- body, thermometer, lists, clock ----------------------------------------------------

    def measure(self) -> Reading:
        """One reading of the thermometer now."""
        return self.thermometer.read()

    def idle(self) -> None:
        """Lights out and silence between people."""
        self.body.idle()

    def show_fault_lights(self) -> None:
        """The lights say the gate cannot scan (gate.vocabulary.FAULT_SIGNAL); the relay is not touched."""
        if self.body.lights is not None:
            self.body.lights.show(FAULT_SIGNAL.light, blink=FAULT_SIGNAL.blink)

    def tick_clock(self) -> None:
        """A running gate's periodic tick: a trusted clock's time becomes the floor."""
        self.floor.tick()

    def gate_now(self) -> float:
        """The time the gate decides at now (never below the time floor)."""
        return self.floor.at(self.clock()).now

    def trust_list(self) -> Any:
        """The trust list in force (gate.codes.trust.TrustList), or None."""
        return self.trust.trust_list

    def vitals(self) -> Vitals:
        """The figures the metrics show: queue, lists, clock (each None when unknown)."""
        return vitals_of(self.store, self.trust, self.floor)

    def _raise_floor_to_lists(self) -> None:
        if self.trust.trust_list is not None:
            self.floor.raise_to(self.trust.trust_list.issued_at)
        self.floor.raise_to(self.trust.status_issued_at)

    def close(self) -> None:
        """Shut the gate and close every part; safe to call twice."""
        self.body.close()
        self.thermometer.close()
        self.held.close()
        self.trust.close()
        self.floor.save()


