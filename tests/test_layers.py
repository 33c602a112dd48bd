"""The house drawn from its own imports: no circle, no import that climbs a floor, and the
appliance's path free of web frameworks, the collector, the setup page and the demo.

Every `import` in gate/ counts, wherever it stands: at the top, inside a function, under
`TYPE_CHECKING`. The floors are DESIGN.md's, written here as data; a module not placed below
fails the test, so a new room must be given its floor.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
GATE = ROOT / "gate"

# Each room of gate/ (a package or a top-level module) and its floor: a room imports only from its
# own floor or below.
FLOORS: dict[str, int] = {
    # 0: words, errors and small facts every floor may read
    "gate": 0, "vocabulary": 0, "faults": 0, "errors": 0, "clock": 0, "fileio": 0, "devicesig": 0,
    "tls": 0, "checkresult": 0, "metrics": 0, "sdnotify": 0, "webserver": 0, "ids": 0,
    # 1: formats, lists, configuration, the record store, devices
    "codes": 1, "credentials": 1, "directives": 1, "config": 1, "configfile": 1, "store": 1, "record": 1, "hardware": 1,
    "vision": 1, "voice": 1, "control": 1,
    # 2: one scan, the venue rules, where the state lives and which faults hold
    "pipeline": 2, "policy": 2, "state": 2, "gateparts": 2, "acceptance": 2, "scanrecord": 2, "vitals": 2,
    "assembly": 2,
    # 3: the kiosk, sync, the doctor's checks, reload between scans
    "kiosk": 3, "reload": 3, "sync": 3, "health": 3,
    # 4: the screen, the technician's page, the collector, the demo and its footage
    "display": 4, "setup": 4, "collector": 4, "demo": 4, "footage": 4,
    # 5: the command
    "cli": 5,
}

# What the appliance's path (the kiosk, the pipeline, sync) must never load.
NOT_ON_THE_APPLIANCE_PATH = ("django", "flask", "cheroot", "gate.collector", "gate.setup", "gate.demo",
                             "gate.footage", "gate.vision.synthetic")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@cache
def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in GATE.rglob("*.py")}


def _resolve(name: str) -> str | None:
    """The gate module `name` names, or the package holding it (a name imported from a package)."""
    modules = _modules()
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name or None


def _imports(module: str) -> set[str]:
    """Every gate module `module` imports, anywhere in its text."""
    path = _modules()[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            targets = [f"{source}.{alias.name}" if f"{source}.{alias.name}" in _modules() else source
                       for alias in node.names]
        else:
            continue
        found.update(t for t in (_resolve(name) for name in targets if name.split(".")[0] == "gate") if t)
    found.discard(module)
    return found


@cache
def _graph() -> dict[str, frozenset[str]]:
    return {module: frozenset(_imports(module)) for module in _modules()}


def _room(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "gate"


def _cycles(graph: dict[str, frozenset[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan, without recursion)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups = []
    for start in graph:
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                group = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.append(member)
                    if member == node:
                        break
                if len(group) > 1:
                    groups.append(sorted(group))
    return groups


def test_the_reader_sees_imports_inside_functions_and_under_type_checking(tmp_path):
    assert "gate.state.faults_now" in _graph()["gate.pipeline"]
    source = ("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from gate.store import Store\n"
              "def f():\n    from gate import health\n    import gate.codes.cose as c\n")
    module = GATE / "_layers_probe.py"
    module.write_text(source)
    try:
        _modules.cache_clear()
        assert _imports("gate._layers_probe") == {"gate.store", "gate.health", "gate.codes.cose"}
    finally:
        module.unlink()
        _modules.cache_clear()


def test_every_room_has_a_floor():
    assert sorted({_room(m) for m in _modules()} - set(FLOORS)) == []


def test_the_house_has_no_circle():
    assert _cycles(dict(_graph())) == []


def test_a_circle_would_be_found():
    assert _cycles({"a": frozenset({"b"}), "b": frozenset({"c"}), "c": frozenset({"a"}), "d": frozenset({"a"})}) \
        == [["a", "b", "c"]]


def _climbing(graph: dict[str, frozenset[str]], floors: dict[str, int]) -> list[str]:
    return sorted(f"{module} ({floors[_room(module)]}) -> {target} ({floors[_room(target)]})"
                  for module, targets in graph.items() for target in targets
                  if floors[_room(target)] > floors[_room(module)])


def test_no_import_climbs_a_floor():
    assert _climbing(dict(_graph()), FLOORS) == []


def test_a_climbing_import_would_be_found():
    graph = {"gate.kiosk.x": frozenset({"gate.cli.y", "gate.store"}), "gate.cli.y": frozenset({"gate.kiosk.x"}),
             "gate.store": frozenset()}
    assert _climbing(graph, FLOORS) == ["gate.kiosk.x (3) -> gate.cli.y (5)"]


@pytest.mark.parametrize("room", ["kiosk", "sync", "pipeline", "policy"])
def test_the_appliance_rooms_reach_no_demo_footage_collector_or_setup_code_at_all(room):
    reached: set[str] = set()
    todo = [m for m in _modules() if _room(m) == room]
    while todo:
        module = todo.pop()
        if module not in reached:
            reached.add(module)
            todo.extend(_graph()[module])
    banned = [name for name in NOT_ON_THE_APPLIANCE_PATH if name.startswith("gate.")]
    assert sorted(m for m in reached if any(m == b or m.startswith(b + ".") for b in banned)) == []


PROBE = """
import json, sys
import {module}
print(json.dumps(sorted(sys.modules)))
"""


@pytest.mark.parametrize("module", ["gate.kiosk.appliance", "gate.pipeline", "gate.sync"])
def test_importing_the_appliance_path_loads_no_web_framework_collector_setup_or_demo(module):
    done = subprocess.run([sys.executable, "-c", PROBE.format(module=module)], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    loaded = json.loads(done.stdout.splitlines()[-1])
    assert module in loaded
    assert sorted(m for m in loaded for banned in NOT_ON_THE_APPLIANCE_PATH
                  if m == banned or m.startswith(banned + ".")) == []
