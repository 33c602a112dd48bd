"""`gate verify`: one code or a JSONL stream, judged as the spec says."""

from __future__ import annotations

import json
import subprocess
import sys

from click.testing import CliRunner

from gate.cli import main
from tests.pki import VECTORS


def run(*args: str, input: str | None = None):
    return CliRunner().invoke(main, list(args), input=input)


def test_jsonl_judges_every_shared_vector_in_order(vectors):
    lines = "".join(json.dumps({"qr": v["qr"], "now": v["now"]}) + "\n" for v in vectors["vectors"])
    result = run("verify", "--trust", str(VECTORS / "trust"), "--jsonl", input=lines)
    assert result.exit_code == 0, result.output
    outputs = [json.loads(line) for line in result.output.splitlines()]
    assert len(outputs) == len(vectors["vectors"])
    for vector, out in zip(vectors["vectors"], outputs):
        assert {k: out.get(k) for k in vector["expect"]} == vector["expect"], vector["name"]


def test_bad_lines_are_answered_bad_input_and_the_run_goes_on(vectors):
    good = vectors["vectors"][0]
    lines = ["not json", "[1]", '{"qr": 7}', '{"now": 5}', '{"qr": "x", "now": "soon"}', "",
             json.dumps({"qr": good["qr"], "now": good["now"]})]
    result = run("verify", "--trust", str(VECTORS / "trust"), "--jsonl", input="\n".join(lines) + "\n")
    outputs = [json.loads(line) for line in result.output.splitlines()]
    assert outputs[:6] == [{"valid": False, "reason": "bad_input"}] * 6
    assert outputs[6]["reason"] == "ok"
    assert result.exit_code == 0


def test_one_code_with_now_and_skew(vectors):
    v = next(v for v in vectors["vectors"] if v["name"] == "expired_within_skew")
    ok = run("verify", "--trust", str(VECTORS / "trust"), "--now", str(v["now"]), v["qr"])
    assert json.loads(ok.output)["reason"] == "ok"
    strict = run("verify", "--trust", str(VECTORS / "trust"), "--now", str(v["now"]), "--skew", "0", v["qr"])
    assert json.loads(strict.output)["reason"] == "expired"


def test_a_missing_trust_folder_is_one_line_and_exit_2(tmp_path):
    result = subprocess.run([sys.executable, "-m", "gate.cli", "verify", "--trust", str(tmp_path / "none"), "JKM1:X"],
                            capture_output=True, text=True)
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1
    assert "trust folder" in result.stderr


def test_code_and_jsonl_together_is_a_usage_error():
    result = run("verify", "--trust", str(VECTORS / "trust"), "--jsonl", "JKM1:X")
    assert result.exit_code == 2
