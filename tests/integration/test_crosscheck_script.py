"""``scripts/crosscheck_boario.py`` as a real subprocess: its last line, its silence, its exit code on bad input."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("boario", reason="the reference package BoARIO is not installed (extra 'test')")

pytestmark = [pytest.mark.integration, pytest.mark.reference]

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "crosscheck_boario.py"
TOLERANCE = 1e-9


def _run(args: list[str], tmp: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TMPDIR": str(tmp)}  # every temporary file of the run lands in tmp
    env.pop("PYTHONWARNINGS", None)
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def test_script_subprocess(tmp_path: Path) -> None:
    args = [
        "--region",
        "reg3",
        "--sector",
        "mining",
        "--share",
        "0.2",
        "--steps",
        "200",
        "--occurrence",
        "20",
        "--duration",
        "15",
        "--recovery",
        "60",
    ]
    proc = _run(args, tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == "", "BoARIO's warnings and logs must be suppressed"
    last = proc.stdout.rstrip("\n").splitlines()[-1]
    match = re.fullmatch(r"max_rel_err=(\S+)", last)
    assert match, f"last line is {last!r}"
    err = float(match.group(1))
    assert 0.0 <= err <= TOLERANCE
    for region in ("reg1", "reg6"):
        assert region in proc.stdout
    assert list(tmp_path.iterdir()) == [], "the script left temporary files behind"


def test_script_bad_region_exits_2(tmp_path: Path) -> None:
    proc = _run(["--region", "atlantis"], tmp_path)
    assert proc.returncode == 2
    assert proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "atlantis" in lines[0]
    assert "reg1" in lines[0]  # the valid ones are listed
    assert "reg6" in lines[0]
    assert "Traceback" not in proc.stderr
