"""scripts/install-system-deps.sh: which Debian packages a development machine gets.

Run for real with stand-ins for dpkg-query (every package missing) and apt-get (records what it
was asked for) first on PATH, so nothing is installed.
"""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "install-system-deps.sh"


def _stand_in(folder: Path, name: str, body: str) -> None:
    path = folder / name
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)


def installs(tmp_path: Path, *args: str) -> list[str]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    asked = tmp_path / "asked"
    _stand_in(bin_dir, "dpkg-query", "exit 1\n")
    _stand_in(bin_dir, "apt-get", f'echo "$@" >> "{asked}"\n')
    _stand_in(bin_dir, "sudo", '"$@"\n')
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}"}
    done = subprocess.run(["bash", str(SCRIPT), *args], capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    install = [line for line in asked.read_text().splitlines() if line.startswith("install")]
    return install[0].split()


def test_a_cjk_font_is_installed_where_chromium_is(tmp_path: Path) -> None:
    packages = installs(tmp_path)
    assert "chromium" in packages and "fonts-noto-cjk" in packages
