"""``scripts/ab_step.py`` as a real subprocess: the step against a git revision of the core, interleaved in one
process; its last line, and its error for a revision that does not exist."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "ab_step.py"


def _git_checkout() -> bool:
    if shutil.which("git") is None:
        return False
    done = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True, text=True)
    return done.returncode == 0


needs_git = pytest.mark.skipif(not _git_checkout(), reason="needs a git checkout of the project")


@needs_git
def test_ab_step_against_head() -> None:
    """Against HEAD (the working tree's own core at its last commit), a few days and two rounds: both timings and
    their ratio on the last line, each round printed, the reference's kernels compiled in a temporary folder."""
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "HEAD", "--steps", "15", "--rounds", "2", "--batch", "16"],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    lines = done.stdout.strip().splitlines()
    assert sum(line.startswith("round ") for line in lines) == 2
    last = re.fullmatch(r"ms_per_step_ref=([\d.]+) ms_per_step_new=([\d.]+) ratio=([\d.]+)", lines[-1])
    assert last is not None, lines[-1]
    ref, new, ratio = (float(g) for g in last.groups())
    assert ref > 0
    assert new > 0
    assert 0.2 < ratio < 5.0


@needs_git
def test_ab_step_names_a_revision_it_cannot_find() -> None:
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "no-such-revision-123"], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 2
    assert "no-such-revision-123" in done.stderr
    assert "Traceback" not in done.stderr
