"""Peer reproduction: the core with every extension off reproduces BoARIO 0.7.2 (ARIOPsiModel) day by day.

The comparison itself lives in ``scripts/crosscheck_boario.py`` (one definition, see its docstring for the
BoARIO conventions matched); these tests import its ``crosscheck`` function from the file and also run the
script as a real subprocess (``tests/integration/test_crosscheck_script.py``).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

boario = pytest.importorskip("boario", reason="the reference package BoARIO is not installed (extra 'test')")
pytest.importorskip("pymrio", reason="pymrio (BoARIO's MRIO reader) is not installed (extra 'test')")
pytest.importorskip("pandas", reason="pandas is not installed (extra 'test')")
if boario.__version__ != "0.7.2":  # pragma: no cover - depends on the environment
    pytest.skip(f"the reference is BoARIO 0.7.2, found {boario.__version__}", allow_module_level=True)

from cluster.errors import InputError  # noqa: E402

pytestmark = pytest.mark.reference

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "crosscheck_boario.py"
TOLERANCE = 1e-9
STEPS = 365


def _load_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("crosscheck_boario", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


cc = _load_script()

# (region, sector, share, occurrence, duration, recovery). Capacity is back to full on day
# occurrence + duration + 1 + recovery (BoARIO's one-day lag), which is before day 365 or not as noted.
EVENTS = {
    "default-recovers-by-day-106": ("reg2", "manufactoring", 0.3, 5, 10, 90),
    "large-0.8-never-recovers": ("reg4", "food", 0.8, 30, 60, 400),
    "small-0.05-late-short": ("reg6", "transport", 0.05, 100, 5, 20),
    "total-1.0-one-day-each": ("reg1", "electricity", 1.0, 1, 1, 1),
    "long-outage-recovery-cut-off": ("reg5", "trade", 0.5, 2, 300, 120),
    "late-0.99-recovers-by-day-331": ("reg3", "construction", 0.99, 200, 100, 30),
}


@pytest.mark.parametrize(
    ("region", "sector", "share", "occurrence", "duration", "recovery"), list(EVENTS.values()), ids=list(EVENTS)
)
def test_regional_production_matches_boario(
    region: str, sector: str, share: float, occurrence: int, duration: int, recovery: int
) -> None:
    ours, ref, regions = cc.crosscheck(region, sector, share, occurrence, duration, recovery, STEPS)
    assert regions == ["reg1", "reg2", "reg3", "reg4", "reg5", "reg6"]
    assert ours.shape == ref.shape == (STEPS, len(regions))
    # The event must be visible in the reference, or the comparison proves nothing.
    hit = regions.index(region)
    assert ref[:, hit].min() < ref[0, hit] * (1 - 1e-4)
    assert ref[occurrence - 1, hit] == pytest.approx(ref[0, hit], rel=1e-12)  # nothing before the event
    err = cc.max_rel_err(ours, ref)
    assert err <= TOLERANCE, f"max relative error {err:.3e} > {TOLERANCE:g}"


def test_max_rel_err_flags_differences() -> None:
    ref = np.array([[1.0, 2.0], [3.0, 4.0]])
    assert cc.max_rel_err(ref, ref) == 0.0
    assert cc.max_rel_err(ref * (1 + 1e-6), ref) == pytest.approx(1e-6)
    assert cc.max_rel_err(ref[:1], ref) == float("inf")
    assert cc.max_rel_err(np.full_like(ref, np.nan), ref) == float("inf")


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [
        ({"region": "nowhere"}, "nowhere"),
        ({"sector": "Mining"}, "Mining"),
        ({"share": 0.0}, "share"),
        ({"share": 1.5}, "share"),
        ({"occurrence": 0}, "occurrence"),
        ({"duration": 0}, "duration"),
        ({"recovery": 0}, "recovery"),
        ({"occurrence": 300, "duration": 66}, "steps"),
    ],
)
def test_crosscheck_rejects_bad_events(kwargs: dict[str, object], needle: str) -> None:
    with pytest.raises(InputError, match=needle):
        cc.crosscheck(**kwargs)
