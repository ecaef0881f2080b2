"""The per-(scenario, region) metrics ``simulate`` reports, declared once: name, unit, kind and meaning.

The result table's schema (``cluster.schema``), the summaries and the docs are derived from this table.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["METRICS", "Metric"]

#: ``money``: the economy's unit, summed over the horizon (or per year where the unit says so);
#: ``percent``: a share of a baseline; ``day``: a day count, "never" when the event does not happen.
Kind = Literal["money", "percent", "day"]


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
        Metric("va_loss", "money", "money", "cumulative value-added loss over the horizon"),
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
        Metric("unmet_final_demand", "money", "money", "cumulative final demand of the region not delivered"),
        Metric("exports_lost", "money", "money", "cumulative exports below baseline, counter-trade included"),
        Metric("ct_exports", "money", "money", "cumulative exports sold through counter-trade channels"),
        Metric("ct_imports", "money", "money", "cumulative imports bought through counter-trade channels"),
        Metric("leakage_premium", "money", "money", "cumulative premium paid for goods routed through third countries"),
        Metric("project_capex", "money", "money", "capital spent on import-substitution projects in the region"),
        Metric("capacity_online", "money per year", "money", "project capacity producing at the end of the horizon"),
    )
}
