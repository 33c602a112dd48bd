"""What following the bulletins costs a scan: the per-scan check that nothing changed (four stats and
the trust list's stamp), the re-read and re-verification when sync wrote a new bulletin, and the
decision path with a bulletin in force.

Run by hand: `.venv/bin/python bench/bulletin.py [N]`.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

from gate.codes import issue as issuelib
from gate.codes import keys as keylib
from gate.codes.trust import TrustStore
from gate.config import Config, DeviceConfig, StoreConfig, TemperatureConfig, TrustConfig, VenueConfig
from gate.directives.issue import make_bulletin, sign_directive
from gate.directives.keys import directive_entry
from gate.directives.watch import BulletinWatch
from gate.hardware.thermometer import Reading, SimulatedThermometer
from gate.pipeline import open_pipeline

ITINERARY_OFF = [{"scope": {"venue_types": ["residential"]}, "set": {"venue.itinerary_check": False}}]


def figures(label: str, times: list[float]) -> None:
    times = sorted(times)
    p99 = times[max(0, int(len(times) * 0.99) - 1)]
    print(f"{label}: median {statistics.median(times) * 1000:.1f} µs   p99 {p99 * 1000:.1f} µs")


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    now = int(time.time())
    anchor, issuer_key, directive = keylib.generate("EdDSA"), keylib.generate("EdDSA"), keylib.generate("EdDSA")
    issuer = issuelib.Issuer("CN-JX", issuer_key)
    with tempfile.TemporaryDirectory() as tmp:
        trust_dir = Path(tmp) / "trust"
        (trust_dir / "anchors").mkdir(parents=True)
        (trust_dir / "anchors" / "anchor.pem").write_bytes(keylib.public_pem(anchor.public_key()))
        tl = issuelib.make_trust_list(1, now - 60, now + 86400, [
            issuelib.trust_entry(issuer_key.public_key(), "CN-JX", now - 10**6, now + 10**6, 86400)],
            (), [directive_entry(directive.public_key(), now - 1000, now + 10**6)])
        (trust_dir / "trustlist.json").write_bytes(tl)
        (trust_dir / "trustlist.json.sig").write_text(issuelib.sign_document(anchor, tl))
        sl = issuelib.make_status_list(1, now - 60, [])
        (trust_dir / "statuslist.json").write_bytes(sl)
        (trust_dir / "statuslist.json.sig").write_text(issuelib.sign_document(anchor, sl))
        trust = TrustStore(trust_dir, None)
        sync = BulletinWatch(trust_dir, writable=True)
        kiosk = BulletinWatch(trust_dir)

        data = make_bulletin(1, now - 120, now - 60, "bench", ITINERARY_OFF)
        sync.accept(data, sign_directive(directive, data), trust.trust_list, now)
        kiosk.refresh(trust.trust_list, now)
        unchanged = []
        for _ in range(n):
            t0 = time.perf_counter()
            kiosk.refresh(trust.trust_list, now)
            unchanged.append((time.perf_counter() - t0) * 1000)
        figures(f"refresh, nothing changed ({n} times)", unchanged)

        reloads = []
        for version in range(2, 202):
            data = make_bulletin(version, now - 120, now - 60, "bench", ITINERARY_OFF)
            sync.accept(data, sign_directive(directive, data), trust.trust_list, now)
            t0 = time.perf_counter()
            assert kiosk.refresh(trust.trust_list, now).version == version
            reloads.append((time.perf_counter() - t0) * 1000)
        figures("refresh after sync wrote a new bulletin (re-read + verify, 200 times)", reloads)
        trust.close()

        config = Config(device=DeviceConfig(id="bench"), venue=VenueConfig(id="360102-012", type="residential"),
                        temperature=TemperatureConfig(sensor="simulated"), trust=TrustConfig(dir=trust_dir),
                        store=StoreConfig(path=Path(tmp) / "var" / "scans.db"))
        pipeline = open_pipeline(config, simulated_io=True, thermometer=SimulatedThermometer(36.5),
                                 persist_floor=False, body_options={"timer": False})
        codes = [issuelib.make_code(issuer, i.to_bytes(16, "big"), 0, now - 600, now + 3000, itinerary_risk=True)
                 for i in range(n)]
        times = []
        for i, qr in enumerate(codes):
            t0 = time.perf_counter()
            outcome = pipeline.scan(qr, reading=Reading(36.5), at=now + i * 0.001)
            times.append((time.perf_counter() - t0) * 1000 * 1000)
        pipeline.close()
        assert outcome.record.bulletin_version == 201 and outcome.decision.decision == "allow"
        times.sort()
        print(f"decision path with bulletin v201 in force ({n} scans): median {statistics.median(times) / 1000:.2f} ms"
              f"   p99 {times[int(n * 0.99) - 1] / 1000:.2f} ms")


if __name__ == "__main__":
    main()
