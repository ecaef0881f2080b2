"""The golden regression cases: how they run, and the fingerprint that says when bits must match."""

from __future__ import annotations

import json
import platform
from pathlib import Path

import numpy as np
import pyarrow as pa

ROOT = Path(__file__).resolve().parents[2]
DATA = Path(__file__).resolve().parent / "data"
#: case name -> (config file, draws)
CASES: dict[str, tuple[str, int]] = {
    "smoke": ("configs/smoke.toml", 32),
    "eu_embargo": ("configs/eu_embargo.toml", 32),
}
BATCH = 8


def fingerprint() -> str:
    """What decides the bits of a run: the processor, numpy and the BLAS kernel it calls."""
    from threadpoolctl import threadpool_info

    blas = sorted(
        f"{i.get('internal_api')}-{i.get('version')}-{i.get('architecture')}"
        for i in threadpool_info()
        if i.get("user_api") == "blas"
    )
    return json.dumps(
        {"machine": platform.machine(), "processor": _cpu_model(), "numpy": np.__version__, "blas": blas},
        sort_keys=True,
    )


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def run_case(name: str) -> tuple[pa.Table, pa.Table]:
    """(results, params) of a case, sorted by (scenario_id, policy[, region]), without schema metadata."""
    from cluster.runs import run_in_memory

    path, draws = CASES[name]
    run = run_in_memory(ROOT / path, draws=draws, executor="serial", batch_size=BATCH)
    return _sorted(run.results), _sorted(run.params)


def _sorted(table: pa.Table) -> pa.Table:
    keys = [k for k in ("scenario_id", "policy", "region") if k in table.column_names]
    return table.sort_by([(k, "ascending") for k in keys]).replace_schema_metadata(None)
