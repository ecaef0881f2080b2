"""Calibration of the embedded economy ``ru-by`` from its sourced table (docs/data.md, "How the table is built").

``table`` reads and checks the TOML table, ``trade`` and ``targets`` derive the targets (steps 1-3), with
``distance`` and ``ras``; ``gravity`` makes the prior (step 4); ``constraints`` and ``balance`` fit it to the
targets (step 5); ``marginals`` measures the result and ``build`` puts it together.
``scripts/build_default_economy.py`` is the command line.
"""

from cluster.calibration.build import REBUILD_RTOL, build, compare
from cluster.calibration.marginals import marginals, measure
from cluster.calibration.ras import ras
from cluster.calibration.table import CalibrationError, canonical_hash, load_table, unsourced

__all__ = [
    "REBUILD_RTOL",
    "CalibrationError",
    "build",
    "canonical_hash",
    "compare",
    "load_table",
    "marginals",
    "measure",
    "ras",
    "unsourced",
]
