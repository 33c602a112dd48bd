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
        if vector["qr"].startswith(("HC1:", "shc:/")):  # a DCC or SHC since credentials.md: its format judges
            assert (out["valid"], out["format"]) == (False, "DCC" if vector["qr"].startswith("HC1:") else "SHC")
            continue
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


# --- no status list in force, and times that are not numbers ------------------------------


def _trust_folder_without_status_list(pki, damage: str):
    status = pki.trust_dir / "statuslist.json"
    if damage == "absent":
        status.unlink()
        (pki.trust_dir / "statuslist.json.sig").unlink()
    else:  # a red entry removed after signing
        from tests.pki import NOW, subject_id

        pki.write_status_list(2, [("CN-JX", subject_id("mallory"), 2, NOW - 10)])
        status.write_bytes(pki.status_list(2, []))
    return pki.trust_dir


def test_without_a_status_list_verify_exits_2_in_one_line(pki):
    from tests.pki import NOW

    for damage in ("absent", "tampered"):
        folder = _trust_folder_without_status_list(pki, damage)
        result = subprocess.run([sys.executable, "-m", "gate.cli", "verify", "--trust", str(folder), "--now", str(NOW),
                                 pki.code("green", subject="mallory")], capture_output=True, text=True)
        assert result.returncode == 2, damage
        assert result.stdout == "" and result.stderr.count("\n") == 1
        assert "no status list in force" in result.stderr and "--no-status-list" in result.stderr


def test_with_no_status_list_each_result_says_the_status_list_is_missing(pki):
    from tests.pki import NOW

    folder = _trust_folder_without_status_list(pki, "tampered")
    one = run("verify", "--trust", str(folder), "--now", str(NOW), "--no-status-list", pki.code("green", subject="mallory"))
    assert one.exit_code == 0
    assert json.loads(one.stdout)["status_list"] == "missing"
    lines = run("verify", "--trust", str(folder), "--no-status-list", "--jsonl",
                input=json.dumps({"qr": pki.code("green"), "now": NOW}) + "\nnot json\n")
    outs = [json.loads(line) for line in lines.stdout.splitlines()]
    assert outs[0]["status_list"] == "missing" and outs[0]["valid"] is True
    assert outs[1] == {"valid": False, "reason": "bad_input"}


def test_with_a_status_list_in_force_no_result_says_it_is_missing(pki):
    from tests.pki import NOW

    result = run("verify", "--trust", str(pki.trust_dir), "--now", str(NOW), "--no-status-list", pki.code("green"))
    assert "status_list" not in json.loads(result.stdout)


def test_a_trust_list_that_does_not_verify_is_exit_2(pki):
    (pki.trust_dir / "trustlist.json.sig").write_text(pki.sign(b"other bytes"))
    result = subprocess.run([sys.executable, "-m", "gate.cli", "verify", "--trust", str(pki.trust_dir), "JKM1:X"],
                            capture_output=True, text=True)
    assert result.returncode == 2 and result.stderr.count("\n") == 1
    assert "no trust list in force" in result.stderr


def test_a_now_that_is_not_finite_is_bad_input(vectors):
    v = next(v for v in vectors["vectors"] if v["expect"].get("reason") == "expired")
    lines = "".join(f'{{"qr": {json.dumps(v["qr"])}, "now": {now}}}\n' for now in ("NaN", "Infinity", "-Infinity"))
    result = run("verify", "--trust", str(VECTORS / "trust"), "--jsonl", input=lines)
    assert [json.loads(line) for line in result.stdout.splitlines()] == [{"valid": False, "reason": "bad_input"}] * 3
    one = run("verify", "--trust", str(VECTORS / "trust"), "--now", "nan", v["qr"])
    assert json.loads(one.stdout) == {"valid": False, "reason": "bad_input"}
