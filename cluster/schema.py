"""The one definition of every Arrow schema the project writes, with its metadata conventions."""

from __future__ import annotations

import json
from typing import Any

import pyarrow as pa

from cluster.core import FLOWS, METRICS, Metric

__all__ = [
    "ECONOMY_FORMAT",
    "ECONOMY_SCHEMA",
    "PERIODS_SCHEMA",
    "PERIOD_KEYS",
    "RESULT_KEYS",
    "RESULT_SCHEMA",
    "RUN_FORMAT",
    "SUMMARY_FORMAT",
    "SUMMARY_SCHEMA",
    "TRADE_SCHEMA",
    "TRAJECTORIES_SCHEMA",
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

#: The key columns of a result row.
RESULT_KEYS = ("scenario_id", "policy", "region")


def _metric_field(metric: Metric) -> pa.Field:
    if metric.kind == "day":  # null when the day never comes within the horizon
        return pa.field(metric.name, pa.int32(), nullable=True)
    return pa.field(metric.name, pa.float64(), nullable=False)


#: One row per (scenario, policy, region): the key columns, then every metric of ``cluster.core.METRICS`` in
#: its declared order. Money is in the economy's unit; a day metric is null when the day never comes.
RESULT_SCHEMA = pa.schema(
    [
        pa.field("scenario_id", pa.int64(), nullable=False),
        pa.field("policy", pa.string(), nullable=False),
        pa.field("region", pa.string(), nullable=False),
        *(_metric_field(m) for m in METRICS.values()),
    ]
)


#: The key columns of a period row.
PERIOD_KEYS = ("scenario_id", "policy", "region", "level", "period")

#: One row per (scenario, policy, region or country, period): every daily flow of ``cluster.core.FLOWS`` summed
#: over the period, and the losses of real value added and of real income as shares of the period's baseline
#: value added (``va_loss_pct``, ``income_loss_pct``). ``level`` is
#: ``region`` or ``country`` (the sum of a country's regions; ``region`` then holds the country's code);
#: ``period`` is a quarter (``2022Q2``), a year (``2022``) or ``all`` (the horizon); ``days`` counts its days.
PERIODS_SCHEMA = pa.schema(
    [
        pa.field("scenario_id", pa.int64(), nullable=False),
        pa.field("policy", pa.string(), nullable=False),
        pa.field("region", pa.string(), nullable=False),
        pa.field("level", pa.string(), nullable=False),
        pa.field("period", pa.string(), nullable=False),
        pa.field("days", pa.int32(), nullable=False),
        *(pa.field(name, pa.float64(), nullable=False) for name in FLOWS),
        pa.field("va_loss_pct", pa.float64(), nullable=False),
        pa.field("income_loss_pct", pa.float64(), nullable=False),
    ]
)


#: One row per (scenario, policy, region or country, week) when a config asks for weekly trajectories: the mean
#: daily real value added of the week (``va``, money a day) and its ratio to the baseline (``va_index``, 1 = the
#: baseline). ``week`` counts whole weeks from day 0; ``date`` is the week's first day (null without a start).
TRAJECTORIES_SCHEMA = pa.schema(
    [
        pa.field("scenario_id", pa.int64(), nullable=False),
        pa.field("policy", pa.string(), nullable=False),
        pa.field("region", pa.string(), nullable=False),
        pa.field("level", pa.string(), nullable=False),
        pa.field("week", pa.int32(), nullable=False),
        pa.field("date", pa.date32(), nullable=True),
        pa.field("va", pa.float64(), nullable=False),
        pa.field("va_index", pa.float64(), nullable=False),
    ]
)


#: One row per (scenario, policy, period, origin country, destination country): the deliveries from the origin's
#: regions to the destination's, intermediate and final, counter-trade and leaked flows included, summed over
#: products and the period's days; ``volume`` at baseline prices, ``value`` at the scenario's prices (world
#: prices, less the discounts on bartered and leaked exports). The diagonal is trade inside a country.
TRADE_SCHEMA = pa.schema(
    [
        pa.field("scenario_id", pa.int64(), nullable=False),
        pa.field("policy", pa.string(), nullable=False),
        pa.field("period", pa.string(), nullable=False),
        pa.field("origin", pa.string(), nullable=False),
        pa.field("destination", pa.string(), nullable=False),
        pa.field("days", pa.int32(), nullable=False),
        pa.field("volume", pa.float64(), nullable=False),
        pa.field("value", pa.float64(), nullable=False),
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

#: One row per (policy, region, period) of a run: statistics of one metric over the scenarios
#: (``analysis.summarize``); ``period`` is ``all`` for the whole horizon.
SUMMARY_SCHEMA = pa.schema(
    [
        pa.field("policy", pa.string(), nullable=False),
        pa.field("region", pa.string(), nullable=False),
        pa.field("period", pa.string(), nullable=False),
        pa.field("n", pa.int64(), nullable=False),
        pa.field("n_null", pa.int64(), nullable=False),
        *(pa.field(name, pa.float64()) for name in ("mean", "std", "se", "p5", "p50", "p95", "cvar95")),
        pa.field("diff_n", pa.int64()),
        *(pa.field(name, pa.float64()) for name in ("diff_mean", "diff_se")),
    ]
)
