"""The one definition of every Arrow schema the project writes, with its metadata conventions."""

from __future__ import annotations

import json
from typing import Any

import pyarrow as pa

__all__ = [
    "ECONOMY_FORMAT",
    "ECONOMY_SCHEMA",
    "RESULT_SCHEMA",
    "RUN_FORMAT",
    "SUMMARY_FORMAT",
    "SUMMARY_SCHEMA",
    "economy_metadata",
    "params_schema",
    "read_metadata",
    "with_provenance",
]

#: Format tag of an economy file; bump the number when the layout changes.
ECONOMY_FORMAT = "shock-economy/1"

#: An economy file holds the non-zero annual flows of Z and Y in coordinate form. ``row`` indexes the
#: industries (region-major), ``col`` the columns of [Z | Y]: industries first, then final-demand columns
#: (region-major over categories). Labels, region tags and provenance live in the schema metadata under
#: the key ``shock`` (JSON).
ECONOMY_SCHEMA = pa.schema(
    [
        pa.field("row", pa.int32(), nullable=False),
        pa.field("col", pa.int32(), nullable=False),
        pa.field("value", pa.float64(), nullable=False),
    ]
)


def economy_metadata(info: dict[str, Any]) -> pa.Schema:
    """``ECONOMY_SCHEMA`` carrying ``info`` (labels, tags, provenance) as JSON metadata."""
    return ECONOMY_SCHEMA.with_metadata({b"shock": json.dumps({"format": ECONOMY_FORMAT, **info}).encode()})


def read_metadata(schema: pa.Schema) -> dict[str, Any] | None:
    """The ``shock`` metadata of a schema, or None when there is none."""
    raw = (schema.metadata or {}).get(b"shock")
    if raw is None:
        return None
    value = json.loads(raw)
    return value if isinstance(value, dict) else None


#: Format tag of a run folder (manifest and shards).
RUN_FORMAT = "shock-run/1"

#: One row per (scenario, policy, region): the headline metrics of ``cluster.core.METRICS``. Money is in the
#: economy's unit; ``recovery_day`` is null when the region never recovers within the horizon.
RESULT_SCHEMA = pa.schema(
    [
        pa.field("scenario_id", pa.int64(), nullable=False),
        pa.field("policy", pa.string(), nullable=False),
        pa.field("region", pa.string(), nullable=False),
        pa.field("va_loss", pa.float64(), nullable=False),
        pa.field("va_loss_pct", pa.float64(), nullable=False),
        pa.field("worst_day_loss_pct", pa.float64(), nullable=False),
        pa.field("recovery_day", pa.int32(), nullable=True),
        pa.field("unmet_final_demand", pa.float64(), nullable=False),
        pa.field("exports_lost", pa.float64(), nullable=False),
        pa.field("ct_exports", pa.float64(), nullable=False),
        pa.field("ct_imports", pa.float64(), nullable=False),
        pa.field("leakage_premium", pa.float64(), nullable=False),
        pa.field("project_capex", pa.float64(), nullable=False),
        pa.field("capacity_online", pa.float64(), nullable=False),
    ]
)


def params_schema(names: list[str]) -> pa.Schema:
    """One row per (scenario, policy): every drawn shock parameter, one float64 column each, in ``names`` order.

    The columns come from the config (its uncertainties), so the schema is built here from their names; the
    same scenario carries identical values under every policy (common random numbers).
    """
    fields = [pa.field("scenario_id", pa.int64(), nullable=False), pa.field("policy", pa.string(), nullable=False)]
    fields += [pa.field(name, pa.float64(), nullable=False) for name in names]
    return pa.schema(fields)


def with_provenance(schema: pa.Schema, provenance: dict[str, Any]) -> pa.Schema:
    """``schema`` carrying the run's provenance (config hash, seed, version, economy id, code revision)."""
    return schema.with_metadata({b"shock": json.dumps({"format": RUN_FORMAT, **provenance}).encode()})


#: Format tag of a summary table's metadata.
SUMMARY_FORMAT = "shock-summary/1"

#: One row per (policy, region) of a run: statistics of one metric over the scenarios (``analysis.summarize``).
SUMMARY_SCHEMA = pa.schema(
    [
        pa.field("policy", pa.string(), nullable=False),
        pa.field("region", pa.string(), nullable=False),
        pa.field("n", pa.int64(), nullable=False),
        pa.field("n_null", pa.int64(), nullable=False),
        *(pa.field(name, pa.float64()) for name in ("mean", "std", "se", "p5", "p50", "p95", "cvar95")),
        pa.field("diff_n", pa.int64()),
        *(pa.field(name, pa.float64()) for name in ("diff_mean", "diff_se")),
    ]
)
