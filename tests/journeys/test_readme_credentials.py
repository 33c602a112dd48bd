"""The README's DCC and SHC examples hold: `gate verify` on the demo visitor's codes, in a clean
shell, prints exactly what the README shows."""

from __future__ import annotations

import json
import re
from pathlib import Path

from tests.journeys.userkit import user  # noqa: F401 -- the fixture

ROOT = Path(__file__).resolve().parents[2]


def test_the_readme_shows_a_dcc_and_an_shc_being_verified(user):
    readme = (ROOT / "README.md").read_text()
    shown = re.findall(r'^\$ gate verify --trust keys/demo/trust "\$\(cat (keys/demo/\S+)\)"\n(\{.*\})$', readme, re.M)
    assert [Path(f).name for f, _ in shown] == ["dcc-visitor.txt", "shc-visitor.txt"]
    for file, expected in shown:
        text = (ROOT / file).read_text().strip()
        done = user.gate("verify", "--trust", str(ROOT / "keys" / "demo" / "trust"), text).ok()
        assert json.loads(done.stdout) == json.loads(expected)
