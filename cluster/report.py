"""``shock report``: one self-contained HTML page on a run, for the economist who has to read it.

``report(run, out=None, *, baseline=None)`` writes ``RUN/report.html`` (or ``out``) and returns its path. The
page holds the run's provenance; the loss per policy for each country and each domestic region (the run's
targets); the paired differences against the baseline policy from the common random numbers; fan charts of real
value added; the regional picture; the sensitivity of the loss to the drawn parameters; the parameter ranges of
the worst draws and PRIM boxes; and the Monte Carlo convergence. Figures are inline SVG (``cluster.figures``):
the file needs no network and no other file.

Memory stays bounded: the run is read with column projection and row filters, one unit (a region or a country)
at a time, and each figure is drawn from reductions (quantiles, means, intervals) of that unit's values, so what
is held beyond the unit in hand grows with the units and policies, not with the draws. The parameters of the
sensitivity section are read for one country and the baseline policy at a time (``sensitivity.outcome``).

The loss is ``va_loss_pct``: the horizon's loss of real value added as a share of *one year's* baseline value
added, in per cent; a country's comes from its country rows over the horizon, rescaled to the same basis.
"""

from __future__ import annotations

import datetime as _dt
import html
import math
import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.fs as pafs
from numpy.typing import NDArray

from cluster import figures as fg
from cluster.analysis import STATUS_QUO, paired_stats, per_year
from cluster.errors import InputError
from cluster.sensitivity import design_of, outcome, prim_boxes, rank_correlations, sobol_indices
from cluster.store import Run, open_run
from cluster.timeline import HORIZON

__all__ = ["METRIC", "REPORT_NAME", "report"]

#: The loss every figure shows.
METRIC = "va_loss_pct"
#: The report's file name in the run folder when no ``out`` is given.
REPORT_NAME = "report.html"
#: What a table shows for a number that does not exist (an en dash).
_DASH = "\u2013"
#: How many parameters the sensitivity and worst-draws figures show.
_TOP = 12
_WORST = 0.95  # the worst 5%: loss at or above its 95th percentile

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]


# ----------------------------------------------------------------------------------------------- reading --
@dataclass
class _Layout:
    """Who is in the run: its policies, the baseline, the domestic regions (the run's targets) with their long
    names and countries, and the domestic countries."""

    policies: list[str]
    baseline: str
    regions: list[str]
    names: dict[str, str]
    country_of: dict[str, str]
    countries: list[str]
    days: int
    design: str

    def country_name(self, country: str) -> str:
        inside = [r for r in self.regions if self.country_of[r] == country]
        if len(inside) == 1 and inside[0] == country:
            return self.names.get(country, country)
        return f"{country} ({len(inside)} regions)"


def _layout(run: Run, baseline: str | None) -> _Layout:
    m = run.manifest
    policies = [str(p) for p in m.get("policies") or []]
    if not policies:
        raise InputError(f"run {run.path} records no policies in its manifest: re-run it with this version")
    if baseline is None:
        baseline = STATUS_QUO if STATUS_QUO in policies else policies[0]
    elif baseline not in policies:
        raise InputError(
            f"no policy {baseline!r} in run {run.path} to use as the baseline; choose one of {', '.join(policies)}"
        )
    regions = [str(r) for r in m.get("regions") or []]
    names = dict(zip(regions, (str(n) for n in m.get("region_names") or []), strict=False))
    recorded = m.get("region_countries")
    if isinstance(recorded, list) and len(recorded) == len(regions):
        country_of = dict(zip(regions, (str(c) for c in recorded), strict=True))
    else:
        country_of = _infer_countries(run, regions)
    config = m.get("config") or {}
    targets = [str(r) for r in ((config.get("economy") or {}).get("targets") or []) if r in regions]
    domestic = targets or regions
    countries = list(dict.fromkeys(country_of.get(r, r) for r in domestic))
    days = int((config.get("run") or {}).get("days") or 0)
    return _Layout(
        policies,
        baseline,
        domestic,
        names,
        {r: country_of.get(r, r) for r in domestic},
        countries,
        days,
        design_of(run),
    )


def _infer_countries(run: Run, regions: Sequence[str]) -> dict[str, str]:
    """Each region's country for a run whose manifest does not record them (older runs): the country code
    among the run's country rows that prefixes the region's label (``RU`` for ``RU-CEN``), else the region."""
    dataset = run.periods()
    first = dataset.head(1, columns=["scenario_id", "policy"])
    if first.num_rows == 0:
        return {r: r for r in regions}
    one = (
        (pc.field("level") == "country")
        & (pc.field("period") == HORIZON)
        & (pc.field("scenario_id") == first["scenario_id"][0].as_py())
        & (pc.field("policy") == first["policy"][0].as_py())
    )
    codes = set(dataset.to_table(columns=["region"], filter=one)["region"].to_pylist())
    out = {}
    for r in regions:
        prefix = re.split(r"[-_.]", r, maxsplit=1)[0]
        out[r] = r if r in codes else prefix if prefix in codes else r
    return out


def _by_policy(table: pa.Table, values: F64, policies: Sequence[str]) -> dict[str, tuple[I64, F64]]:
    """Per policy, its scenario ids and values, in scenario order."""
    out: dict[str, tuple[I64, F64]] = {}
    ids = table["scenario_id"].to_numpy()
    policy = table["policy"]
    for p in policies:
        mask = pc.equal(policy, p).to_numpy(zero_copy_only=False)
        if not mask.any():
            continue
        pid, pv = ids[mask], values[mask]
        order = np.argsort(pid, kind="stable")
        out[p] = (pid[order], pv[order])
    return out


def _unit_values(run: Run, layout: _Layout, level: str, unit: str) -> dict[str, tuple[I64, F64]]:
    """The loss of one region (results) or one country (its country rows over the horizon, rescaled to a share
    of one year's value added), per policy, in scenario order: one unit's rows only."""
    if level == "region":
        table = run.results().to_table(columns=["scenario_id", "policy", METRIC], filter=pc.field("region") == unit)
        values = table[METRIC].cast(pa.float64()).to_numpy(zero_copy_only=False)
    else:
        where = (pc.field("level") == "country") & (pc.field("period") == HORIZON) & (pc.field("region") == unit)
        table = run.periods_table(columns=["scenario_id", "policy", METRIC, "days"], filter=where)
        values = per_year(table[METRIC].to_numpy(zero_copy_only=False), table["days"].to_numpy(zero_copy_only=False))
    return _by_policy(table, np.asarray(values, dtype=np.float64), layout.policies)


def _paired(mine: tuple[I64, F64], base: tuple[I64, F64]) -> fg.Paired:
    """The policy against the baseline on the scenarios both have (common random numbers: pair by id)."""
    _, i, j = np.intersect1d(mine[0], base[0], assume_unique=True, return_indices=True)
    d = mine[1][i] - base[1][j]
    d = d[np.isfinite(d)]
    got = paired_stats(d)
    worse = float(np.mean(d > 0) + 0.5 * np.mean(d == 0)) if d.size else math.nan
    return fg.Paired(
        int(got["n"]), got["mean"], got["se"], got["ci_low"], got["ci_high"], got["p_better"], worse, fg.Dist.of(d)
    )


def _convergence(values: F64, points: int = 80, first: int = 10) -> fg.Convergence:
    """The standard error of the mean of the first n values, at about ``points`` n from ``first`` (fewer are
    noise) to all of them, spaced evenly in log n."""
    v = values[np.isfinite(values)]
    if v.size < 2:
        empty = np.empty(0)
        return fg.Convergence(np.empty(0, dtype=np.int64), empty, empty)
    centred = v - v.mean()  # sums of squares of centred values lose no precision
    s1, s2 = np.cumsum(centred), np.cumsum(centred * centred)
    n = np.unique(np.round(np.geomspace(min(first, v.size), v.size, points)).astype(np.int64))
    k = n.astype(np.float64)
    var = np.maximum(s2[n - 1] - s1[n - 1] ** 2 / k, 0.0) / (k - 1)
    return fg.Convergence(n, np.sqrt(var / k), s1[n - 1] / k + v.mean())


@dataclass
class _Units:
    """The reductions of every unit, and what the status quo's vectors gave (convergence, draws seen)."""

    countries: list[fg.UnitStats] = field(default_factory=list)
    regions: list[fg.UnitStats] = field(default_factory=list)
    convergence: dict[str, fg.Convergence] = field(default_factory=dict)
    draws_seen: int = 0


def _units(run: Run, layout: _Layout) -> _Units:
    out = _Units()
    for level, units in (("country", layout.countries), ("region", layout.regions)):
        for unit in units:
            values = _unit_values(run, layout, level, unit)
            base = values.get(layout.baseline)
            paired = {p: _paired(v, base) for p, v in values.items() if p != layout.baseline and base is not None}
            stats = fg.UnitStats(
                unit=unit,
                name=layout.country_name(unit) if level == "country" else layout.names.get(unit, unit),
                country=unit if level == "country" else layout.country_of[unit],
                level=level,
                loss={p: fg.Dist.of(v[1]) for p, v in values.items()},
                paired=paired,
            )
            if level == "country":
                out.countries.append(stats)
                if base is not None:
                    out.convergence[unit] = _convergence(base[1])
                    out.draws_seen = max(out.draws_seen, int(base[0].size))
            else:
                out.regions.append(stats)
            del values, base
    return out


def _quantiles(steps: I64, values: F64) -> tuple[I64, F64]:
    """The distinct steps and, per step, the 5/25/50/75/95th percentiles of its values: (5, steps)."""
    order = np.argsort(steps, kind="stable")
    steps, values = steps[order], values[order]
    uniq, counts = np.unique(steps, return_counts=True)
    qs = [0.05, 0.25, 0.5, 0.75, 0.95]
    if counts.size and np.all(counts == counts[0]):
        return uniq, np.quantile(values.reshape(uniq.size, int(counts[0])), qs, axis=1)
    bounds = np.concatenate([[0], np.cumsum(counts)])
    cols = [np.quantile(values[bounds[i] : bounds[i + 1]], qs) for i in range(uniq.size)]
    return uniq, np.column_stack(cols) if cols else np.empty((5, 0))


_QUARTER = re.compile(r"^(?:Y)?(\d+)Q(\d)$")


def _fans(run: Run, layout: _Layout) -> tuple[dict[str, dict[str, fg.Fan]], str, str]:
    """Per country and policy, the fan of real value added (% of baseline): weekly from the trajectories when
    the run has them, else quarterly from the period rows. Also the x-axis label and the source's name."""
    weekly = bool(run.shards) and all("trajectories" in s.paths for s in run.shards)
    fans: dict[str, dict[str, fg.Fan]] = {}
    xlabel = ""
    for c in layout.countries:
        fans[c] = {}
        for p in layout.policies:
            unit = (pc.field("level") == "country") & (pc.field("region") == c) & (pc.field("policy") == p)
            if weekly:
                dataset = run.trajectories()
                t = dataset.to_table(columns=["week", "va_index"], filter=unit)
                if t.num_rows == 0:
                    continue
                weeks, q = _quantiles(
                    t["week"].to_numpy().astype(np.int64), 100.0 * t["va_index"].to_numpy(zero_copy_only=False)
                )
                del t
                first = dataset.head(len(weeks) + 1, columns=["week", "date"], filter=unit)
                dates = dict(zip(first["week"].to_pylist(), first["date"].to_pylist(), strict=True))
                if all(isinstance(dates.get(int(w)), _dt.date) for w in weeks):
                    x: NDArray[Any] = np.array([dates[int(w)] for w in weeks], dtype="datetime64[D]")
                    xlabel = "Date (first day of each week)"
                else:
                    x = weeks * 7
                    xlabel = "Days since day 0 (first day of each week)"
                fans[c][p] = fg.Fan(x, q)
            else:
                t = run.periods_table(columns=["period", METRIC], filter=unit)
                labels = t["period"].to_pylist()
                loss = t[METRIC].to_numpy(zero_copy_only=False)
                keyed = [(m, i) for i, lab in enumerate(labels) if (m := _QUARTER.match(lab))]
                if not keyed:
                    continue
                order = sorted({(int(m.group(1)), int(m.group(2)), labels[i]) for m, i in keyed})
                index = {lab: k for k, (_, _, lab) in enumerate(order)}
                steps = np.array([index[labels[i]] for _, i in keyed], dtype=np.int64)
                pos, q = _quantiles(steps, 100.0 - loss[[i for _, i in keyed]])
                fans[c][p] = fg.Fan(pos.astype(np.float64), q, tuple(order[int(k)][2] for k in pos))
                xlabel = "Calendar quarter"
    source = "weekly trajectories" if weekly else "quarterly period rows: each point is a quarter's average"
    return fans, xlabel, source


@dataclass
class _Sensitivity:
    """What the sensitivity and worst-draws sections show for one country under the baseline policy."""

    country: str
    n: int = 0
    method: str = "ranks"  # ranks | sobol
    ranks: list[Any] = field(default_factory=list)
    sobol: list[Any] = field(default_factory=list)
    worst: list[fg.ParamRange] = field(default_factory=list)
    boxes: list[Any] = field(default_factory=list)
    threshold: float = math.nan
    error: str | None = None
    prim_error: str | None = None


def _projects(policies: Mapping[str, Any], policy: str, seen: frozenset[str] = frozenset()) -> set[str]:
    """The projects a policy builds, its included policies' too (the config's ``projects`` and ``include``)."""
    spec = policies.get(policy) or {}
    out = {str(p) for p in spec.get("projects") or []}
    for other in spec.get("include") or []:
        if other not in seen:
            out |= _projects(policies, str(other), seen | {policy})
    return out


def _acts_under(run: Run, policy: str) -> Callable[[str], bool]:
    """Whether a drawn parameter can act under ``policy``: a lever of another policy (``policy.OTHER.*``) or a
    project the policy does not build (``project.NAME.*``) is drawn for every policy (common random numbers) but
    does nothing under this one, and would only add noise to its sensitivity."""
    policies = (run.manifest.get("config") or {}).get("policies") or {}
    built = _projects(policies, policy)

    def acts(name: str) -> bool:
        kind, _, rest = name.partition(".")
        owner = rest.partition(".")[0]
        if kind == "policy":
            return owner == policy
        if kind == "project":
            return owner in built
        return True

    return acts


def _sensitivity(run: Run, layout: _Layout, country: str) -> _Sensitivity:
    out = _Sensitivity(country)
    try:
        x, y = outcome(run, METRIC, policy=layout.baseline, country=country)
    except InputError as err:
        out.error = str(err)
        return out
    acts = _acts_under(run, layout.baseline)
    if layout.days:
        y = per_year(y, layout.days)  # the horizon's share to one year's, like the results
    out.n = int(y.size)
    try:
        if layout.design == "saltelli":
            out.method = "sobol"
            out.sobol = sobol_indices(x, y)
            d = len(x)
            rows = np.arange(y.size) % (d + 2)
            ab = (rows == 0) | (rows == d + 1)
            out.ranks = rank_correlations({k: v[ab] for k, v in x.items()}, y[ab])
            out.sobol = [i for i in out.sobol if acts(i.name)]  # the sample's layout needs every column
            out.ranks = [r for r in out.ranks if acts(r.name)]
            x = {k: v for k, v in x.items() if acts(k)}
        else:
            x = {k: v for k, v in x.items() if acts(k)}
            out.ranks = rank_correlations(x, y)
    except InputError as err:
        out.error = str(err)
        return out
    finite = np.isfinite(y)
    cut = float(np.quantile(y[finite], _WORST))
    worst = finite & (y >= cut)
    out.threshold = cut
    qs = [0.05, 0.5, 0.95]
    for r in out.ranks[:_TOP]:
        v = x[r.name]
        all_q = tuple(float(q) for q in np.quantile(v[finite], qs))
        worst_q = tuple(float(q) for q in np.quantile(v[worst], qs))
        out.worst.append(
            fg.ParamRange(r.name, float(v.min()), float(v.max()), all_q, worst_q, float(r.rho))  # type: ignore[arg-type]
        )
    try:
        out.boxes = prim_boxes(x, y, quantile=_WORST)
    except InputError as err:
        out.prim_error = str(err)
    return out


# ------------------------------------------------------------------------------------------------- HTML --
def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _digits(values: Sequence[float]) -> int:
    """Decimals that give the largest of ``values`` about three significant digits (0 to 6)."""
    biggest = max((abs(v) for v in values if math.isfinite(v)), default=0.0)
    return 3 if biggest == 0 else min(6, max(0, 2 - math.floor(math.log10(biggest))))


def _num(value: float, digits: int = 3) -> str:
    if value is None or not math.isfinite(value):
        return _DASH
    return f"{value:,.{digits}f}"


def _pct(value: float) -> str:
    return _DASH if not math.isfinite(value) else f"{100 * value:.0f}%"


_CSS = """
:root { --ink: #1d1d1d; --muted: #5b5b5b; --rule: #d9d9d9; }
* { box-sizing: border-box; }
body { font-family: "DejaVu Sans", "Helvetica Neue", Arial, sans-serif; color: var(--ink); margin: 0;
       background: #ffffff; line-height: 1.45; font-size: 15px; }
main { max-width: 1080px; margin: 0 auto; padding: 24px 28px 60px; }
h1 { font-size: 1.6em; margin: 0.2em 0 0.1em; }
h2 { font-size: 1.25em; margin-top: 2.2em; border-bottom: 1px solid var(--rule); padding-bottom: 0.2em; }
h3 { font-size: 1.05em; margin-top: 1.6em; }
.lede { color: var(--muted); margin-top: 0; }
nav ol { columns: 2; font-size: 0.93em; }
table { border-collapse: collapse; margin: 0.8em 0; font-size: 0.88em; }
th, td { padding: 3px 9px; border-bottom: 1px solid var(--rule); text-align: right; vertical-align: top; }
th { background: #f4f4f4; }
td.l, th.l { text-align: left; }
dl.prov { display: grid; grid-template-columns: 1fr 1fr; column-gap: 28px; margin: 0.6em 0; font-size: 0.9em; }
dl.prov div { display: flex; border-bottom: 1px solid var(--rule); padding: 3px 0; }
dl.prov dt { font-weight: bold; min-width: 10.5em; }
dl.prov dd { margin: 0; overflow-wrap: anywhere; }
figure { margin: 1.2em 0 1.6em; }
figure svg { width: 100%; height: auto; display: block; }
figcaption { color: var(--muted); font-size: 0.9em; margin-top: 0.4em; max-width: 900px; }
.swatch { display: inline-block; width: 0.9em; height: 0.9em; border-radius: 2px; vertical-align: -0.1em;
          margin-right: 0.3em; }
.note { background: #fff8e5; border-left: 3px solid #e69f00; padding: 6px 10px; font-size: 0.9em; }
code { font-size: 0.92em; }
"""


class _Page:
    """The page being written: sections, a table of contents, numbered figures."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.toc: list[tuple[str, str]] = []
        self.figures = 0

    def section(self, anchor: str, title: str, intro: str = "") -> None:
        self.toc.append((anchor, title))
        self.parts.append(f'<h2 id="{anchor}">{_e(title)}</h2>')
        if intro:
            self.parts.append(f"<p>{intro}</p>")

    def add(self, text: str) -> None:
        self.parts.append(text)

    def figure(self, key: str, svg: str, caption: str) -> None:
        self.figures += 1
        self.parts.append(
            f'<figure class="plot" id="fig-{key}">{svg}<figcaption><b>Figure {self.figures}.</b> {caption}'
            "</figcaption></figure>"
        )

    def note(self, text: str) -> None:
        self.parts.append(f'<p class="note">{_e(text)}</p>')


def _table(header: Sequence[str], rows: Sequence[Sequence[str]], *, left: int = 1, cls: str = "") -> str:
    """An HTML table of already escaped cells; the first ``left`` columns left-aligned."""
    klass = f' class="{cls}"' if cls else ""

    def cells(tag: str, row: Sequence[str]) -> str:
        return "".join(f"<{tag}{' class=l' if j < left else ''}>{c}</{tag}>" for j, c in enumerate(row))

    body = "".join(f"<tr>{cells('td', r)}</tr>" for r in rows)
    return f"<table{klass}><thead><tr>{cells('th', header)}</tr></thead><tbody>{body}</tbody></table>"


def _swatch(colour: str) -> str:
    return f'<span class="swatch" style="background:{colour}"></span>'


def _provenance(run: Run, layout: _Layout, units: _Units) -> str:
    m = run.manifest
    config = m.get("config") or {}
    cfg_run = config.get("run") or {}
    draws = m.get("draws", cfg_run.get("draws"))
    chash = str(m.get("config_hash", ""))
    wall = m.get("wall_seconds")
    status = str(m.get("status", "?"))
    coverage = (
        f"{status}: {units.draws_seen:,} of {int(draws):,} draws in {len(run.shards)} shards" if draws else status
    )
    start = cfg_run.get("start")
    rows = [
        ("run", _e(m.get("name", os.path.basename(run.path.rstrip("/"))))),
        ("run folder", f"<code>{_e(os.path.basename(run.path.rstrip('/')))}</code>"),
        ("config hash", f'<code title="{_e(chash)}">{_e(chash[:16])}</code>'),
        ("seed", _e(m.get("seed", cfg_run.get("seed", "?")))),
        ("draws", f"{int(draws):,}" if draws else "?"),
        ("design", _e(layout.design)),
        ("horizon", f"{layout.days:,} days" + (f" from {_e(start)}" if start else " (no calendar start)")),
        ("economy", _e(m.get("economy_id", "?"))),
        (
            "domestic regions",
            f"{len(layout.regions)} in {', '.join(_e(layout.country_name(c)) for c in layout.countries)}",
        ),
        ("policies", ", ".join(_e(p) for p in layout.policies) + f" (baseline: <b>{_e(layout.baseline)}</b>)"),
        (
            "code revision",
            f"<code>{_e(m.get('code_revision', '?'))}</code>, package {_e(m.get('package_version', '?'))}",
        ),
        ("executor", f"{_e(m.get('executor', '?'))}, batches of {_e(m.get('batch_size', '?'))}"),
        ("wall time", f"{float(wall):,.1f} s" if isinstance(wall, int | float) else "?"),
        ("started / finished", f"{_e(m.get('started', '?'))} / {_e(m.get('finished', _DASH))}"),
        ("status / coverage", _e(coverage)),
    ]
    items = "".join(f"<div><dt>{k}</dt><dd>{v}</dd></div>" for k, v in rows)
    return f'<dl class="prov">{items}</dl>'


def _headline(units: _Units, layout: _Layout, colour: Mapping[str, str]) -> str:
    rows = []
    loss = _digits([d.p95 for u in units.countries for d in u.loss.values()])
    dd = _digits([x for u in units.countries for q in u.paired.values() for x in (q.low, q.high)])
    for u in units.countries:
        for p in layout.policies:
            d = u.loss.get(p)
            if d is None:
                continue
            pair = u.paired.get(p)
            diff = _DASH if pair is None else f"{_num(pair.mean, dd)} [{_num(pair.low, dd)}, {_num(pair.high, dd)}]"
            better = _DASH if pair is None else _pct(pair.p_better)
            rows.append(
                [
                    _e(u.label),
                    _swatch(colour[p]) + _e(p),
                    f"{d.n:,}",
                    _num(d.mean, loss),
                    _num(d.p5, loss),
                    _num(d.p50, loss),
                    _num(d.p95, loss),
                    _num(d.cvar95, loss),
                    diff,
                    better,
                ]
            )
    header = [
        "country",
        "policy",
        "draws",
        "mean",
        "p5",
        "median",
        "p95",
        "CVaR 95%",
        f"vs {_e(layout.baseline)} [95%]",
        "better in",
    ]
    return _table(header, rows, left=2)


def _verdicts(units: _Units, layout: _Layout) -> str:
    """One sentence per country: the policy with the largest mean gain, and whether it exceeds its uncertainty."""
    items = []
    base = _e(layout.baseline)
    for u in units.countries:
        pairs = [(p, x) for p, x in u.paired.items() if math.isfinite(x.mean)]
        if not pairs:
            continue
        p, best = min(pairs, key=lambda px: px[1].mean)
        interval = f"95% interval {best.low:+.3g} to {best.high:+.3g} pp"
        if best.mean >= 0:
            text = f"no policy does better than {base} on average; the closest is <b>{_e(p)}</b> ({interval})"
        elif best.high < 0:
            text = (
                f"<b>{_e(p)}</b> helps most: {-best.mean:.3g} pp less loss than {base} on average ({interval}), "
                f"better in {_pct(best.p_better)} of draws"
            )
        else:
            text = f"<b>{_e(p)}</b> helps most, {-best.mean:.3g} pp on average, but its {interval} includes no gain"
        items.append(f"<li><b>{_e(u.label)}</b>: {text}.</li>")
    return f"<ul>{''.join(items)}</ul>" if items else ""


def _region_table(units: _Units, layout: _Layout, colour: Mapping[str, str]) -> str:
    others = [p for p in layout.policies if p != layout.baseline]
    header = ["region", "country", f"median loss, {_e(layout.baseline)}"]
    header += [f"{_swatch(colour[p])}{_e(p)}" for p in others]
    rows = []
    loss = _digits([d.p50 for u in units.regions for d in u.loss.values()])
    dd = _digits([q.mean for u in units.regions for q in u.paired.values()]) + 1
    for u in units.regions:
        base = u.loss.get(layout.baseline)
        row = [_e(u.name), _e(u.country), _num(base.p50, loss) if base else _DASH]
        for p in others:
            pair = u.paired.get(p)
            half = _num(pair.high - pair.mean, dd) if pair is not None else ""
            row.append(_DASH if pair is None else f"{_num(pair.mean, dd)} ± {half}<br>{_pct(pair.p_better)}")
        rows.append(row)
    return _table(header, rows, left=2)


def _box_table(s: _Sensitivity) -> str:
    rows = []
    for i, box in enumerate(s.boxes, 1):
        limits = "<br>".join(_e(lim.describe()) for lim in box.limits) or "(no restriction)"
        rows.append(
            [f"box {i}", limits, _pct(box.coverage), _pct(box.density), _pct(box.mass), f"{box.k:,} of {box.n:,}"]
        )
    header = ["", "limits", "coverage", "density", "mass", "worst draws in box"]
    return _table(header, rows, left=2)


def _worst_table(s: _Sensitivity) -> str:
    rows = [
        [
            _e(r.name),
            f"{r.low:.3g} … {r.high:.3g}",
            " / ".join(f"{v:.3g}" for v in r.all_q),
            " / ".join(f"{v:.3g}" for v in r.worst_q),
            f"{r.rho:+.2f}",
        ]
        for r in s.worst
    ]
    header = ["parameter", "drawn range", "all draws: p5 / median / p95", "worst 5%: p5 / median / p95", "rank corr."]
    return _table(header, rows)


# ------------------------------------------------------------------------------------------------ report --
def report(
    run: Run | str | os.PathLike[str], out: str | os.PathLike[str] | None = None, *, baseline: str | None = None
) -> str:
    """Write the HTML report of ``run`` (a run folder's path or an opened ``Run``) and return its path.

    ``out`` defaults to ``report.html`` in the run folder; a path or a URI (``s3://...``). ``baseline`` is the
    policy the others are compared with, draw by draw (default ``status_quo``, else the run's first policy).
    An unfinished run is refused by ``open_run`` unless opened with ``partial=True`` and passed in; the page
    then says how many draws it covers.

    Raises
    ------
    InputError
        Not a run folder, a baseline the run does not have, or a run with no results.
    """
    opened = run if isinstance(run, Run) else open_run(run)
    if not opened.shards:
        raise InputError(f"run {opened.path} has no results yet: nothing to report")
    layout = _layout(opened, baseline)
    target = os.fspath(out) if out is not None else f"{opened.path.rstrip('/')}/{REPORT_NAME}"
    colour = fg.colours(layout.policies)
    others = [p for p in layout.policies if p != layout.baseline]
    units = _units(opened, layout)
    page = _Page()
    base = _e(layout.baseline)

    page.section("provenance", "Provenance")
    page.add(_provenance(opened, layout, units))
    page.section(
        "headline",
        "Headline numbers per country",
        f"The loss of real value added over the horizon, in per cent of one year's baseline value added "
        f"(the no-sanction path), over the draws; CVaR 95% is the mean of the worst 5% of draws. "
        f"<i>vs {base}</i> is the mean of the draw-by-draw difference from {base} with its 95% interval "
        f"(negative: the policy loses less); <i>better in</i> is the share of draws where it loses less.",
    )
    page.add(_verdicts(units, layout))
    page.add(_headline(units, layout, colour))

    page.section("losses", "Loss distributions per policy")
    page.figure(
        "loss-countries",
        fg.loss_boxes(units.countries, layout.policies, colour, title="Loss per country and policy", key="f1"),
        "Each box summarises the draws of one policy in one country: the box spans the middle half of the draws "
        "(25th to 75th percentile), the thick bar is the median, the diamond the mean, the whiskers reach the 5th "
        "and 95th percentiles. Boxes further right mean larger losses; a wide box means the outcome depends "
        "strongly on the uncertain shock.",
    )
    for i, c in enumerate(layout.countries):
        regions = [u for u in units.regions if u.country == c]
        if not regions:
            continue
        page.figure(
            f"loss-regions-{i}",
            fg.loss_boxes(
                regions,
                layout.policies,
                colour,
                title=f"Loss per region of {layout.country_name(c)} and policy",
                key=f"f2-{i}",
            ),
            f"The same for the regions of {_e(layout.country_name(c))}, each region's loss as a share of its own "
            "annual value added. Compare regions down the figure, and policies within a region.",
        )

    page.section(
        "paired",
        f"Policies against {layout.baseline}, draw by draw",
        f"Every policy is simulated on the same draws as {base} (common random numbers), so each draw gives a "
        "difference in loss that is free of the shock's uncertainty; these differences are far more precise than "
        "a comparison of two separate distributions.",
    )
    if others:
        page.figure(
            "paired",
            fg.paired_forest(units.countries, others, colour, layout.baseline, key="f3"),
            f"For each policy, the distribution of the draw-by-draw difference in loss from {base} (box: 25th to "
            "75th percentile; whiskers: 5th to 95th) and its mean with a 95% interval (black). Left of zero the "
            f"policy loses less than {base}. The share on the right is the probability, over the draws, that the "
            "policy does better.",
        )
        page.add(
            f"<h3>Per region: mean difference from {base} ± 95% interval (percentage points), and the share of "
            "draws where the policy does better</h3>"
        )
        page.add(_region_table(units, layout, colour))
    else:
        page.note(f"The run has only the policy {layout.baseline}: there is nothing to compare.")

    fans, xlabel, source = _fans(opened, layout)
    page.section("paths", "Real value added over time")
    if any(fans.values()):
        page.figure(
            "fans",
            fg.fan_charts(
                {c: f for c, f in fans.items() if f},
                {c: layout.country_name(c) for c in layout.countries},
                layout.policies,
                colour,
                layout.baseline,
                xlabel=xlabel,
                key="f4",
            ),
            f"Real value added of each country as a percentage of its no-sanction baseline ({_e(source)}): the "
            "line is the median over the draws, the dark band holds the middle 50% of draws and the light band 90% "
            f"at each time. The dashed line repeats the median under {base}. A path below 100 is output lost; "
            "the bands widen where the outcome is uncertain. The bands are per time step: a single draw need not "
            "stay inside them.",
        )
    else:
        page.note("The run has neither trajectories nor quarterly period rows for its countries: no time paths.")

    page.section("regions", "The regional picture")
    if units.regions and layout.baseline in units.regions[0].loss:
        page.figure(
            "regional",
            fg.regional(units.regions, layout.policies, colour, layout.baseline, key="f5"),
            f"Left: the domestic regions ranked by their median loss under {base} (bars), with the 5th to 95th "
            "percentiles of the draws (whiskers). Right: for each other policy, the mean reduction of the loss it "
            f"brings over {base}, draw by draw, in percentage points with its 95% interval: bars to the right are "
            "gains, to the left losses. Where the bars are long the policy matters most.",
        )

    page.section("sensitivity", "What drives the loss")
    sens = [_sensitivity(opened, layout, c) for c in layout.countries]
    for k, s in enumerate(sens):
        name = layout.country_name(s.country)
        if s.error is not None:
            page.note(f"{name}: no sensitivity analysis: {s.error}")
            continue
        if s.method == "sobol":
            page.figure(
                f"sobol-{k}",
                fg.sobol_bars(
                    s.sobol, title=f"Sobol' indices of the loss in {name} under {layout.baseline}", key=f"f6-{k}"
                ),
                f"The share of the variance of the loss in {_e(name)} under {base} due to each drawn parameter, alone "
                "(first-order index) and with its interactions (total index), from the run's Saltelli design "
                f"({s.n:,} scenarios), with 95% bootstrap intervals; the {_TOP} largest totals. A total much larger "
                "than the first-order index means the parameter acts through interactions.",
            )
        else:
            page.figure(
                f"tornado-{k}",
                fg.tornado(
                    s.ranks,
                    title=f"Rank correlation of each parameter with the loss in {name} under {layout.baseline}",
                    key=f"f6-{k}",
                ),
                f"Spearman's rank correlation between each drawn parameter and {_e(name)}'s loss under {base} over "
                f"{s.n:,} draws, with a 95% interval; the {_TOP} strongest (levers of the other policies, drawn on the "
                "same draws but idle here, are left out). A long bar to the right: draws with a "
                "higher value of the parameter tend to lose more. Correlations measure monotone association one "
                f"parameter at a time, not shares of variance (the run's design is {_e(layout.design)}; Sobol' "
                'indices need design = "saltelli").',
            )

    page.section(
        "worst",
        "The worst 5% of draws",
        f"Which shocks produce the worst outcomes under {base}: the draws whose loss is at or above its 95th "
        "percentile, compared with all draws, and PRIM boxes (the Patient Rule Induction Method of EMA Workbench): "
        "simple ranges of a few parameters inside which most draws are among the worst.",
    )
    for k, s in enumerate(sens):
        name = layout.country_name(s.country)
        if s.error is not None or not s.worst:
            continue
        page.figure(
            f"worst-{k}",
            fg.worst_ranges(
                s.worst, title=f"Parameters of the worst 5% of draws in {name}, {layout.baseline}", key=f"f7-{k}"
            ),
            f"For the parameters most correlated with the loss in {_e(name)}, where the worst 5% of draws (loss at "
            f"or above {_num(s.threshold, 2)}%) sit in the range drawn (orange) compared with all draws (grey): bars "
            "from the 5th to the 95th percentile, dots at the median, on a scale from the smallest value drawn (0) "
            "to the largest (1). An orange bar pushed to one end means the worst outcomes need that parameter at "
            "that end.",
        )
        page.add(_worst_table(s))
        page.add(f"<h3>PRIM boxes: {_e(name)}, loss at or above {_num(s.threshold, 2)}%</h3>")
        if s.prim_error is not None:
            page.note(f"No PRIM box: {s.prim_error}")
        elif not s.boxes:
            page.note("PRIM found no box in which at least 80% of the draws are among the worst 5%.")
        else:
            page.add(_box_table(s))
            page.add(
                "<p>Coverage: the share of the worst draws inside the box; density: the share of the box's draws "
                "that are among the worst; mass: the box's share of all draws.</p>"
            )

    page.section("convergence", "Monte Carlo precision")
    if units.convergence:
        page.figure(
            "convergence",
            fg.convergence(
                units.convergence,
                {c: layout.country_name(c) for c in layout.countries},
                colour[layout.baseline],
                layout.baseline,
                key="f8",
            ),
            f"The Monte Carlo standard error of the mean loss under {base} after the first n draws (in scenario "
            "order), per country, on log scales, against the 1/√n rate (dashed). It says how precisely the draws "
            "pin down the mean: the mean ± 1.96 standard errors is its 95% interval. Differences between policies "
            "are paired and far more precise (above). The formula treats the draws as independent; for a Latin "
            "hypercube or Sobol' design, whose stratified draws are more even, it errs if anything on the high side.",
        )

    doc = _document(opened, layout, page, colour)
    _write(target, doc)
    return target


def _document(run: Run, layout: _Layout, page: _Page, colour: Mapping[str, str]) -> str:
    name = str(run.manifest.get("name", "run"))
    legend = " ".join(f"{_swatch(colour[p])}{_e(p)}" for p in layout.policies)
    toc = "".join(f'<li><a href="#{a}">{_e(t)}</a></li>' for a, t in page.toc)
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; "
        'img-src data:">'
        f"<title>Sanction-shock report: {_e(name)}</title><style>{_CSS}</style></head><body><main>"
        f"<h1>Sanction-shock report: {_e(name)}</h1>"
        f'<p class="lede">{len(layout.policies)} policies on the same Monte Carlo draws, {len(layout.regions)} '
        f"domestic regions in {len(layout.countries)} countries. Losses are of real value added over the "
        f"{layout.days:,}-day horizon, in per cent of one year's baseline value added. Policy colours: {legend}.</p>"
        f"<nav><ol>{toc}</ol></nav>" + "\n".join(page.parts) + "</main></body></html>\n"
    )


def _write(target: str, text: str) -> None:
    """Write the page: a local file atomically (a temporary file renamed), a URI through pyarrow."""
    data = text.encode("utf-8")
    if "://" in target and not target.startswith("file://"):
        fs, path = pafs.FileSystem.from_uri(target)
        with fs.open_output_stream(path) as f:
            f.write(data)
        return
    path = target.removeprefix("file://")
    parent = os.path.dirname(os.path.abspath(path))
    os.makedirs(parent, exist_ok=True)
    tmp = f"{path}.tmp-{os.getpid()}"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)
