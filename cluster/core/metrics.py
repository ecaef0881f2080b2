"""The per-(scenario, region) metrics ``simulate`` reports, declared once: name, unit, kind and meaning.

The result table's schema (``cluster.schema``), the summaries and the docs are derived from this table.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["FLOWS", "METRICS", "Metric"]

#: ``flow``: money summed day by day over the horizon (a period's value is the sum over its days);
#: ``money``: money that is not a daily flow (a one-off spend, a capacity at the end);
#: ``percent``: a share of a baseline; ``day``: a day count, "never" when the event does not happen.
Kind = Literal["flow", "money", "percent", "day"]


@dataclass(frozen=True)
class Metric:
    """One metric of the core's outcome."""

    name: str
    unit: str
    kind: Kind
    doc: str


METRICS: dict[str, Metric] = {
    m.name: m
    for m in (
        Metric("va_loss", "money", "flow", "cumulative loss of real value added (at baseline prices) over the horizon"),
        Metric(
            "va_loss_pct",
            "% of a year's baseline value added",
            "percent",
            "cumulative value-added loss over the horizon, as a share of one year's baseline value added",
        ),
        Metric(
            "worst_day_loss_pct", "% of a day's baseline value added", "percent", "largest one-day value-added loss"
        ),
        Metric(
            "recovery_day",
            "days after onset",
            "day",
            "first day after onset from which value added stays within 1% of baseline for 30 days "
            "(never: null in tables, -1 in the core)",
        ),
        Metric(
            "income_loss",
            "money",
            "flow",
            "cumulative real income below baseline: value added plus terms-of-trade gains at world prices, less "
            "leakage premia and the discounts on bartered and leaked exports",
        ),
        Metric("unmet_final_demand", "money", "flow", "cumulative final demand of the region not delivered"),
        Metric("exports_lost", "money", "flow", "cumulative exports below baseline, counter-trade included"),
        Metric("ct_exports", "money", "flow", "cumulative exports sold through counter-trade channels"),
        Metric("ct_imports", "money", "flow", "cumulative imports bought through counter-trade channels"),
        Metric("leakage_premium", "money", "flow", "cumulative premium paid for goods routed through third countries"),
        Metric(
            "diverted_exports",
            "money",
            "flow",
            "cumulative blocked exports delivered to friendly buyers instead (export diversion, counter-trade"
            " included)",
        ),
        Metric(
            "displaced_exports",
            "money",
            "flow",
            "cumulative deliveries to friendly buyers the region lost to the targets' diverted exports",
        ),
        Metric(
            "project_capex",
            "money",
            "money",
            "capital spent on import-substitution projects in the region within the horizon",
        ),
        Metric("capacity_online", "money per year", "money", "project capacity producing at the end of the horizon"),
        Metric(
            "capacity_built",
            "money per year",
            "money",
            "capacity the region's suppliers built toward excess demand (supplier expansion), at the end of the"
            " horizon",
        ),
    )
}

#: The metrics a period (a year, a quarter) reports: every daily flow, summed over the period's days.
FLOWS: tuple[str, ...] = tuple(m.name for m in METRICS.values() if m.kind == "flow")
