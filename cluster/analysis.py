"""Summaries of a run's results per policy and region, computed with Arrow compute.

``summarize`` gives one row per (policy, region), policies and regions in their order of first appearance
in the results (the config's and the economy's order). Columns (``SUMMARY_SCHEMA``):

=============  ===========================================================================================
``policy``     the policy
``region``     the region
``n``          values used: the scenarios whose metric is not null
``n_null``     scenarios whose metric is null; for ``recovery_day`` the regions that never recover within
               the horizon. Every statistic below is over the ``n`` non-null values only, so for
               ``recovery_day`` it describes the scenarios that do recover: read it beside ``n_null``.
``mean``       mean
``std``        sample standard deviation (ddof = 1; null when n < 2)
``se``         Monte Carlo standard error of the mean, std / sqrt(n)
``p5``         5th percentile; ``p50``, ``p95`` likewise. Exact quantiles with linear interpolation
               between order statistics (numpy's default ``method="linear"``, Hyndman-Fan type 7)
``cvar95``     conditional value at risk at 95% (expected shortfall): the mean of the values at or above
               ``p95``. Losses are positive numbers, so this is the mean of the worst 5%; for a metric
               where more is better (``ct_exports``, ``capacity_online``) it is simply the upper-tail mean
``diff_n``     scenarios paired with the baseline policy (both values non-null)
``diff_mean``  mean over those scenarios of (metric under the policy - metric under the baseline policy)
               in the same region: common random numbers make this far sharper than a difference of means
``diff_se``    its standard error: std of the paired differences (ddof = 1) / sqrt(diff_n)
=============  ===========================================================================================

The ``diff_*`` columns are null when there is no baseline policy and on the baseline's own rows. The
baseline is ``baseline_policy`` if given, else the policy ``status_quo`` if the run has one. Pairing is by
``scenario_id``: a policy whose scenario ids in a region differ from the baseline's is refused, and so is
a (scenario, policy, region) that occurs twice. The schema's ``shock`` metadata records the metric, the
baseline and the run.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from cluster.core import DAYS_PER_YEAR
from cluster.errors import InputError
from cluster.schema import PERIODS_SCHEMA, RESULT_SCHEMA, SUMMARY_FORMAT, SUMMARY_SCHEMA
from cluster.store import Run, open_run
from cluster.timeline import HORIZON

__all__ = [
    "BY",
    "METRICS",
    "PERIOD_METRICS",
    "STATUS_QUO",
    "SUMMARY_FORMAT",
    "SUMMARY_SCHEMA",
    "compare",
    "compare_json",
    "format_compare",
    "format_summary",
    "loss_by_policy",
    "metric_header",
    "paired_stats",
    "per_year",
    "summarize",
    "summarize_table",
    "summary_json",
    "target_countries",
    "verdicts",
]

_KEYS = ("scenario_id", "policy", "region")

#: The metric columns of ``RESULT_SCHEMA`` that ``summarize`` accepts.
METRICS = tuple(f.name for f in RESULT_SCHEMA if f.name not in _KEYS)
#: The metrics of the period rows.
PERIOD_METRICS = tuple(f.name for f in PERIODS_SCHEMA if f.type == pa.float64())
#: What ``summarize`` can summarise by.
BY = ("horizon", "year", "quarter")
#: Joins a region and a period into one group label (a character no label holds).
_SEP = "\x1f"

#: The policy used as the baseline of paired differences when none is named.
STATUS_QUO = "status_quo"

#: The statistics columns of SUMMARY_SCHEMA (its float columns but the paired differences).
_STATS = tuple(f.name for f in SUMMARY_SCHEMA if f.type == pa.float64() and not f.name.startswith("diff_"))

_QUANTILES = (0.05, 0.5, 0.95)


def summarize(
    run: Run | str | os.PathLike[str],
    *,
    metric: str = "va_loss_pct",
    baseline_policy: str | None = None,
    by: str = "horizon",
    countries: bool = False,
) -> pa.Table:
    """Per policy and region: count, mean, spread, quantiles, CVaR 95% and paired differences of ``metric``.

    ``run`` is an opened run or the path of a run folder. ``by`` is ``horizon`` (the whole run), ``year`` or
    ``quarter`` (calendar periods, from the run's period tables); ``countries`` summarises country rows (each
    country's regions summed) instead of regions. See the module docstring for the columns.
    """
    if by not in BY:
        raise InputError(f"unknown period {by!r}: choose one of {', '.join(BY)}")
    opened = run if isinstance(run, Run) else open_run(run)
    regions, names = opened.manifest.get("regions") or [], opened.manifest.get("region_names") or []
    region_names = dict(zip(regions, names, strict=False))
    if by == "horizon" and not countries:
        _check_metric(metric, METRICS)
        table = opened.results_table(columns=[*_KEYS, metric])
        return summarize_table(
            table, metric=metric, baseline_policy=baseline_policy, source=opened.path, region_names=region_names
        )
    _check_metric(metric, PERIOD_METRICS, f" (by {by}{', countries' if countries else ''})")
    level = "country" if countries else "region"
    table = opened.periods_table(columns=[*_KEYS, "period", "days", metric], filter=pc.field("level") == level)
    table = table.filter(pc.equal(_period_kind(table["period"]), by))
    if by == "horizon" and metric.endswith("_pct"):  # the horizon's share to one year's, as in the results
        scaled = pc.divide(pc.multiply(table[metric], table["days"].cast(pa.float64())), float(DAYS_PER_YEAR))
        table = table.set_column(table.column_names.index(metric), metric, scaled)
    table = table.drop_columns(["days"])
    names = None if countries else region_names  # country rows carry country codes, which have no long names
    return summarize_table(
        table, metric=metric, baseline_policy=baseline_policy, source=opened.path, region_names=names
    )


def loss_by_policy(
    periods: pa.Table,
    units: Sequence[str],
    *,
    metric: str = "va_loss",
    period: str = HORIZON,
    level: str = "country",
) -> dict[str, np.ndarray]:
    """Per policy, ``metric`` of the period rows summed over ``units`` (regions or countries, by ``level``) in
    ``period``, one value per scenario in scenario order: the paired draws of a policy comparison (the same
    scenarios under every policy, common random numbers)."""
    rows = periods.filter(
        pc.and_(
            pc.and_(pc.equal(periods["period"], period), pc.equal(periods["level"], level)),
            pc.is_in(periods["region"], pa.array(list(units))),
        )
    )
    summed = rows.group_by(["scenario_id", "policy"]).aggregate([(metric, "sum")]).sort_by("scenario_id")
    return {
        str(policy): summed.filter(pc.equal(summed["policy"], policy))[f"{metric}_sum"].to_numpy()
        for policy in pc.unique(summed["policy"]).to_pylist()
    }


#: Metrics where more is worse: a policy's gain is a lower value.
def _lower_is_better(metric: str) -> bool:
    return "loss" in metric or metric in ("unmet_final_demand", "exports_lost", "leakage_premium", "recovery_day")


def metric_header(metric: str, *, by: str = "horizon", countries: bool = False) -> list[str]:
    """What ``metric`` is and its unit, and what the columns of a summary mean: the header of ``shock
    summarize``."""
    from cluster.core.metrics import METRICS as CORE_METRICS

    core = CORE_METRICS.get(metric)
    if by == "horizon" and not countries and core is not None:
        what, unit = core.doc, core.unit
    elif metric.endswith("_pct") and by == "horizon":
        flow = "value added" if metric.startswith("va") else "real income"
        what = f"loss of real {flow} over the whole horizon, as a share of one year's baseline value added"
        unit = "% of a year's baseline value added"
    elif metric.endswith("_pct"):
        flow = "value added" if metric.startswith("va") else "real income"
        what = f"loss of real {flow} in each {by}, as a share of that {by}'s baseline value added"
        unit = f"% of the {by}'s baseline value added"
    else:
        what = core.doc if core is not None else f"{metric}, summed over each period"
        unit = core.unit if core is not None else "money"
    if unit == "money":
        unit = "money of the economy's table (its currency and year: `shock economy show`)"
    lines = [f"{metric}: {what}; unit: {unit}"]
    better = "lower is better" if _lower_is_better(metric) else "higher is not worse"
    lines.append(
        "columns: n draws; mean; se = Monte Carlo standard error of the mean; std; p5/p50/p95 percentiles over "
        f"the draws; cvar95 = mean of the worst 5%; vs BASELINE = mean paired difference on the same draws ({better})"
    )
    return lines


def per_year(share: np.ndarray, days: np.ndarray | int) -> np.ndarray:
    """A horizon's loss as a share of the horizon's baseline (a period row's ``*_pct``), as a share of *one
    year's* baseline, as the results have it: times its days over ``DAYS_PER_YEAR`` (exact: the baseline is
    stationary)."""
    return np.asarray(share * np.asarray(days) / DAYS_PER_YEAR, dtype=np.float64)


def paired_stats(d: np.ndarray, *, lower_is_better: bool = True) -> dict[str, float]:
    """The statistics of per-draw differences ``d`` (policy - baseline, on the same draws): ``n``, ``mean``, its
    standard error ``se``, the 95% interval ``ci_low``..``ci_high`` (Student t) and ``p_better``, the share of
    draws where the policy does better (ties counted half). NaN where undefined (n < 2, or no draws)."""
    from scipy import stats

    d = d[np.isfinite(d)]
    n = int(d.size)
    mean = float(d.mean()) if n else math.nan
    se = float(d.std(ddof=1) / math.sqrt(n)) if n > 1 else math.nan
    half = float(stats.t.ppf(0.975, n - 1)) * se if n > 1 else math.nan
    better = d < 0 if lower_is_better else d > 0
    p_better = float(np.mean(better) + 0.5 * np.mean(d == 0)) if n else math.nan
    return {"n": n, "mean": mean, "se": se, "ci_low": mean - half, "ci_high": mean + half, "p_better": p_better}


def compare(run: Run | str | os.PathLike[str], *, baseline: str | None = None, metric: str = "va_loss_pct") -> pa.Table:
    """The paired comparison of every policy with ``baseline`` (default ``status_quo``) over the horizon, for each
    country and each target region: the mean difference (policy - baseline) on the same draws, its standard error
    and 95% interval (Student t), and the probability that the policy does better (a lower value for a loss,
    ties counted half), from the period rows of the horizon. A share (``*_pct``) is taken of *one year's*
    baseline, as in the results: the horizon's share times its days over ``DAYS_PER_YEAR`` (the baseline is
    stationary, so this is exact).
    """

    opened = run if isinstance(run, Run) else open_run(run)
    _check_metric(metric, PERIOD_METRICS, " (compare uses the horizon's period rows)")
    policies = [str(p) for p in opened.manifest.get("policies") or []]
    base = _baseline(policies, baseline, opened.path)
    if base is None:
        raise InputError(f"{opened.path}: the run has no {STATUS_QUO} policy: name one with --baseline")
    targets = ((opened.manifest.get("config") or {}).get("economy") or {}).get("targets") or []
    names = dict(zip(opened.manifest.get("regions") or [], opened.manifest.get("region_names") or [], strict=False))
    keep = pc.field("period") == HORIZON
    keep = keep & ((pc.field("level") == "country") | pc.field("region").isin(list(targets)))
    table = opened.periods().to_table(columns=["scenario_id", "policy", "level", "region", "days", metric], filter=keep)
    levels, units = table["level"].to_numpy(zero_copy_only=False), table["region"].to_numpy(zero_copy_only=False)
    pols, ids = table["policy"].to_numpy(zero_copy_only=False), table["scenario_id"].to_numpy()
    values = table[metric].to_numpy()
    if metric.endswith("_pct"):  # the horizon's share to one year's
        values = per_year(values, table["days"].to_numpy())
    sign = 1.0 if _lower_is_better(metric) else -1.0
    order_units = list(dict.fromkeys(zip(levels[::-1], units[::-1], strict=True)))[::-1]
    order_units.sort(key=lambda u: (u[0] != "country", u[1] not in targets))
    rows: dict[str, list[Any]] = {k: [] for k in ("policy", "level", "unit", "name", "n", "mean", "se")}
    rows |= {k: [] for k in ("ci_low", "ci_high", "p_better")}
    for level, unit in order_units:
        in_unit = (levels == level) & (units == unit)
        by_policy = {}
        for policy in policies:
            sel = in_unit & (pols == policy)
            order = np.argsort(ids[sel], kind="stable")
            by_policy[policy] = (ids[sel][order], values[sel][order])
        base_ids, base_values = by_policy[base]
        for policy in policies:
            if policy == base:
                continue
            p_ids, p_values = by_policy[policy]
            if not np.array_equal(p_ids, base_ids):
                raise InputError(
                    f"{opened.path}: policy {policy!r} and baseline {base!r} cover different scenarios in {unit}; "
                    "pairing needs a complete run"
                )
            got = paired_stats(p_values - base_values, lower_is_better=sign > 0)
            for key, value in (
                ("policy", policy),
                ("level", level),
                ("unit", unit),
                ("name", names.get(unit, unit) if level == "region" else unit),
                *got.items(),
            ):
                rows[key].append(value)
    meta = {"metric": metric, "baseline_policy": base, "run": opened.path, "lower_is_better": sign > 0}
    return pa.table(rows).replace_schema_metadata({b"shock": json.dumps(meta).encode()})


def format_compare(table: pa.Table) -> list[str]:
    """The paired comparison as aligned text: a title, a header and one line per (unit, policy)."""
    meta = json.loads((table.schema.metadata or {}).get(b"shock", b"{}"))
    base, metric = meta.get("baseline_policy"), meta.get("metric")
    better = "lower" if meta.get("lower_is_better", True) else "higher"
    share = " (% of one year's baseline value added)" if str(metric).endswith("_pct") else ""
    title = (
        f"{metric} over the horizon{share}, each policy - {base} on the same draws: mean, 95% interval, and the "
        f"share of draws where the policy does better ({better} {metric})"
    )
    head = ["unit", "name", "policy", "n", "mean", "95% interval", "P(better)"]
    cols = table.to_pydict()
    decimals = _decimals(cols, ("mean", "ci_low", "ci_high"))
    lines = [
        [
            cols["unit"][i],
            _cut(str(cols["name"][i])) if cols["level"][i] == "region" else "",
            cols["policy"][i],
            f"{cols['n'][i]:,d}",
            f"{cols['mean'][i]:+,.{decimals}f}",
            f"[{cols['ci_low'][i]:+,.{decimals}f}, {cols['ci_high'][i]:+,.{decimals}f}]",
            f"{cols['p_better'][i]:.0%}",
        ]
        for i in range(table.num_rows)
    ]
    widths = [max(len(str(x[j])) for x in [head, *lines]) for j in range(len(head))]

    def render(line: list[str]) -> str:
        return "  ".join(
            str(v).ljust(widths[j]) if j < 3 else str(v).rjust(widths[j]) for j, v in enumerate(line)
        ).rstrip()

    return [title, render(head), *(render(x) for x in lines)]


def compare_json(table: pa.Table) -> str:
    """The paired comparison as JSON: metric, baseline, run, and one object per (unit, policy)."""
    meta = json.loads((table.schema.metadata or {}).get(b"shock", b"{}"))
    rows = [
        {k: None if isinstance(v, float) and not math.isfinite(v) else v for k, v in row.items()}
        for row in table.to_pylist()
    ]
    return json.dumps({**meta, "rows": rows}, indent=2, allow_nan=False)


def target_countries(run: Run) -> list[str] | None:
    """The countries of the run's target regions (None for a run that does not record its regions' countries)."""
    countries = run.manifest.get("region_countries")
    regions = run.manifest.get("regions") or []
    targets = set(((run.manifest.get("config") or {}).get("economy") or {}).get("targets") or [])
    if not isinstance(countries, list) or len(countries) != len(regions):
        return None
    return list(dict.fromkeys(c for r, c in zip(regions, countries, strict=True) if r in targets))


def verdicts(table: pa.Table, countries: Sequence[str] | None = None) -> list[str]:
    """One line per country of a comparison (``compare``; only ``countries`` if given): the policy with the
    largest mean gain over the baseline, and whether that gain is larger than its uncertainty (its 95% interval
    excludes zero)."""
    meta = json.loads((table.schema.metadata or {}).get(b"shock", b"{}"))
    base, lower = meta.get("baseline_policy"), meta.get("lower_is_better", True)
    pp = " pp" if str(meta.get("metric", "")).endswith("_pct") else ""
    rows = [r for r in table.to_pylist() if r["level"] == "country" and (countries is None or r["unit"] in countries)]
    out = []
    for unit in dict.fromkeys(r["unit"] for r in rows):
        mine = [r for r in rows if r["unit"] == unit and math.isfinite(r["mean"])]
        if not mine:
            continue
        best = min(mine, key=lambda r: r["mean"] if lower else -r["mean"])
        gain = -best["mean"] if lower else best["mean"]
        interval = f"95% interval {best['ci_low']:+.3g} to {best['ci_high']:+.3g}"
        if gain <= 0:
            out.append(f"{unit}: no policy does better than {base}; the closest is {best['policy']} ({interval})")
        elif best["ci_low"] > 0 or best["ci_high"] < 0:
            out.append(
                f"{unit}: {best['policy']} helps most, {gain:.3g}{pp} better than {base} on average ({interval}; "
                f"better in {best['p_better']:.0%} of draws): larger than its uncertainty"
            )
        else:
            out.append(
                f"{unit}: {best['policy']} helps most, {gain:.3g}{pp} better than {base} on average, but its "
                f"{interval} includes no gain: within its uncertainty"
            )
    return out


def _period_kind(labels: pa.ChunkedArray) -> pa.ChunkedArray:
    """``quarter`` (``2022Q2``, ``Y1Q2``), ``horizon`` (``all``) or ``year`` for each period label."""
    quarter = pc.match_substring(labels, "Q")
    horizon = pc.equal(labels, HORIZON)
    return pc.if_else(quarter, "quarter", pc.if_else(horizon, "horizon", "year"))


def summarize_table(
    table: pa.Table,
    *,
    metric: str = "va_loss_pct",
    baseline_policy: str | None = None,
    source: str = "<results>",
    region_names: Mapping[str, str] | None = None,
) -> pa.Table:
    """``summarize`` on a table in memory: ``scenario_id``, ``policy``, ``region``, ``metric`` and, for period
    rows, ``period`` (then every (region, period) is a group of its own).

    ``source`` names the results in error messages and metadata; ``region_names`` (long names by region label)
    go into the metadata, for ``format_summary``.
    """
    has_period = "period" in table.column_names
    _check_metric(metric, PERIOD_METRICS if has_period else METRICS)
    missing = [c for c in (*_KEYS, metric) if c not in table.column_names]
    if missing:
        raise InputError(f"{source}: results lack the columns {missing}")
    policies = pc.unique(table["policy"]).to_pylist()
    # A group is a region, or a (region, period) pair for period rows: one label, split again below.
    unit = pc.binary_join_element_wise(table["region"], table["period"], _SEP) if has_period else table["region"]
    regions = pc.unique(unit).to_pylist()
    baseline = _baseline(policies, baseline_policy, source)

    # One sort by (policy, region, scenario id) makes every group a contiguous, id-ordered slice.
    n_regions = len(regions)
    key = pc.add(
        pc.multiply(pc.index_in(table["policy"], value_set=pa.array(policies)).cast(pa.int64()), n_regions),
        pc.index_in(unit, value_set=pa.array(regions)).cast(pa.int64()),
    )
    order = pc.sort_indices(
        pa.table({"key": key, "id": table["scenario_id"]}), sort_keys=[("key", "ascending"), ("id", "ascending")]
    )
    ids = table["scenario_id"].take(order)
    values = table[metric].take(order).cast(pa.float64())
    counts = np.bincount(key.to_numpy(), minlength=len(policies) * n_regions)
    offsets = np.concatenate([[0], np.cumsum(counts)])

    def group(p: int, r: int) -> tuple[pa.ChunkedArray, pa.ChunkedArray] | None:
        g = p * n_regions + r
        if counts[g] == 0:
            return None
        start, size = int(offsets[g]), int(counts[g])
        return ids.slice(start, size), values.slice(start, size)

    rows: dict[str, list[Any]] = {field.name: [] for field in SUMMARY_SCHEMA}
    for p, policy in enumerate(policies):
        for r, region in enumerate(regions):
            found = group(p, r)
            if found is None:
                continue
            g_ids, g_values = found
            g_ids_np = g_ids.to_numpy()
            if np.any(np.diff(g_ids_np) == 0):
                dup = int(g_ids_np[np.flatnonzero(np.diff(g_ids_np) == 0)[0]])
                raise InputError(
                    f"{source}: scenario {dup} occurs twice under policy {policy!r} in region "
                    f"{region!r}; the results are corrupt (shards written twice?): re-run"
                )
            rows["policy"].append(policy)
            label, _, period = region.partition(_SEP)
            rows["region"].append(label)
            rows["period"].append(period or HORIZON)
            rows["n_null"].append(g_values.null_count)
            for name, value in _stats(g_values).items():
                rows[name].append(value)
            diff: dict[str, Any] = {"diff_n": None, "diff_mean": None, "diff_se": None}
            if baseline is not None and policy != baseline:
                base = group(policies.index(baseline), r)
                base_ids = base[0].to_numpy() if base is not None else np.empty(0, dtype=np.int64)
                if not np.array_equal(g_ids_np, base_ids):
                    only = np.setxor1d(g_ids_np, base_ids)
                    raise InputError(
                        f"{source}: policy {policy!r} and baseline {baseline!r} cover different "
                        f"scenarios in region {region!r} ({len(only)} unpaired, e.g. scenario "
                        f"{int(only[0]) if len(only) else '?'}); pairing needs the same scenario "
                        "ids: summarize a complete run"
                    )
                assert base is not None
                diff = _paired(g_values, base[1])
            for name, value in diff.items():
                rows[name].append(value)
    meta = {
        "format": SUMMARY_FORMAT,
        "metric": metric,
        "baseline_policy": baseline,
        "run": source,
        "region_names": dict(region_names or {}),
    }
    schema = SUMMARY_SCHEMA.with_metadata({b"shock": json.dumps(meta).encode()})
    return pa.table(rows, schema=schema)


def _check_metric(metric: str, allowed: tuple[str, ...], where: str = "") -> None:
    if metric not in allowed:
        raise InputError(f"unknown metric {metric!r}{where}: choose one of {', '.join(allowed)}")


def _baseline(policies: list[str], requested: str | None, source: str) -> str | None:
    if requested is None:
        return STATUS_QUO if STATUS_QUO in policies else None
    if requested not in policies:
        raise InputError(
            f"{source}: no policy {requested!r} to use as the baseline; the run has "
            f"{', '.join(policies) or 'no policies'}"
        )
    return requested


def _stats(values: pa.ChunkedArray) -> dict[str, Any]:
    """n, mean, std, se, quantiles and CVaR 95% of the non-null ``values``."""
    valid = pc.drop_null(values)
    n = len(valid)
    out: dict[str, Any] = {"n": n, **dict.fromkeys(_STATS)}
    if n == 0:
        return out
    p5, p50, p95 = pc.quantile(valid, q=list(_QUANTILES), interpolation="linear").to_pylist()
    std = pc.stddev(valid, ddof=1).as_py()
    tail = pc.filter(valid, pc.greater_equal(valid, p95))
    out.update(
        mean=pc.mean(valid).as_py(),
        std=std,
        se=None if std is None else std / math.sqrt(n),
        p5=p5,
        p50=p50,
        p95=p95,
        cvar95=pc.mean(tail).as_py(),
    )
    return out


def _paired(values: pa.ChunkedArray, base: pa.ChunkedArray) -> dict[str, Any]:
    """Mean and standard error of the paired differences (pairs with a null on either side are dropped)."""
    diffs = pc.drop_null(pc.subtract(values, base))
    n = len(diffs)
    if n == 0:
        return {"diff_n": 0, "diff_mean": None, "diff_se": None}
    std = pc.stddev(diffs, ddof=1).as_py()
    return {"diff_n": n, "diff_mean": pc.mean(diffs).as_py(), "diff_se": None if std is None else std / math.sqrt(n)}


def format_summary(table: pa.Table) -> list[str]:
    """A summary table as aligned text lines: a title, a header, one line per (policy, region).

    Numbers of one kind share their decimals (about four significant digits of the largest); nulls show
    as ``-``. The null count appears only when there are nulls, the paired columns only with a baseline.
    """
    meta = json.loads((table.schema.metadata or {}).get(b"shock", b"{}"))
    metric, baseline = meta.get("metric", "metric"), meta.get("baseline_policy")
    cols = table.to_pydict()
    title = f"{metric} per policy and region; se: Monte Carlo error of the mean; cvar95: mean of the top 5%"
    if baseline:
        title += f"; vs {baseline}: paired difference, policy - {baseline}"
    spec: list[tuple[str, str]] = [("n", "n")]
    if any(cols["n_null"]):
        spec.append(("n_null", "never recovered" if metric == "recovery_day" else "null"))
    spec += [
        ("mean", "mean"),
        ("se", "se"),
        ("std", "std"),
        ("p5", "p5"),
        ("p50", "p50"),
        ("p95", "p95"),
        ("cvar95", "cvar95"),
    ]
    if baseline:
        spec += [("diff_mean", f"vs {baseline}"), ("diff_se", "se")]
    values_decimals = _decimals(cols, ("mean", "std", "p5", "p50", "p95", "cvar95", "diff_mean"))
    se_decimals = _decimals(cols, ("se", "diff_se"))

    def cell(name: str, value: Any) -> str:
        if value is None:
            return "-"
        if name in ("n", "n_null", "diff_n"):
            return f"{value:,d}"
        return f"{value:,.{se_decimals if name in ('se', 'diff_se') else values_decimals}f}"

    names = meta.get("region_names") or {}
    labels = [["policy", "region"]] + [[str(p), str(r)] for p, r in zip(cols["policy"], cols["region"], strict=True)]
    if names:  # long names beside the codes
        labels = [[*labels[0], "name"]] + [[*row, _cut(str(names.get(row[1], "")))] for row in labels[1:]]
    if any(period != HORIZON for period in cols["period"]):
        labels = [[*labels[0], "period"]] + [[*row, str(q)] for row, q in zip(labels[1:], cols["period"], strict=True)]
    n_left = len(labels[0])
    text = [[*labels[i + 1], *(cell(name, cols[name][i]) for name, _ in spec)] for i in range(table.num_rows)]
    header = [*labels[0], *(label for _, label in spec)]
    widths = [max(len(line[j]) for line in [header, *text]) for j in range(len(header))]

    def render(line: list[str]) -> str:
        left = [line[j].ljust(widths[j]) for j in range(n_left)]
        right = [line[j].rjust(widths[j]) for j in range(n_left, len(line))]
        return "  ".join(left + right).rstrip()

    return [title, render(header), *(render(line) for line in text)]


def summary_json(table: pa.Table) -> str:
    """A summary table as JSON: its metadata (metric, baseline, run) and one object per row."""
    meta = json.loads((table.schema.metadata or {}).get(b"shock", b"{}"))
    meta.pop("region_names", None)
    rows = [
        {k: None if isinstance(v, float) and not math.isfinite(v) else v for k, v in row.items()}
        for row in table.to_pylist()
    ]  # JSON has no NaN: an undefined statistic is null
    return json.dumps({**meta, "rows": rows}, indent=2, allow_nan=False)


def _cut(name: str, width: int = 30) -> str:
    """A long name cut to ``width`` characters."""
    return name if len(name) <= width else name[: width - 1] + "…"


def _decimals(cols: dict[str, list[Any]], names: tuple[str, ...]) -> int:
    """Decimals that give the largest value of these columns about four significant digits (0 to 6)."""
    biggest = max(
        (abs(v) for name in names for v in cols.get(name, []) if v is not None and math.isfinite(v)), default=0.0
    )
    if biggest == 0:
        return 3
    return min(6, max(0, 3 - math.floor(math.log10(biggest))))
