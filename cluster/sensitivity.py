"""Global sensitivity and scenario discovery on a run: which drawn parameters drive a metric, and where losses
are high.

``outcome`` reads one metric of one policy in one region (the results) or one country (the country rows of the
period tables, over the horizon) with the drawn parameters that vary, in scenario order. On them:

* ``sobol_indices``: first-order and total Sobol' indices with bootstrap intervals (``SALib.analyze.sobol``, the
  Saltelli/Jansen estimators), for runs of ``design = "saltelli"`` only;
* ``moment_free``: PAWN indices (``SALib.analyze.pawn``, Kolmogorov-Smirnov distances between the conditional and
  unconditional distributions of the metric), from any sample;
* ``rank_correlations``: Spearman's rho with 95% intervals (Fisher's z, Bonett-Wright standard error);
* ``prim_boxes``: PRIM boxes of the scenarios whose metric is at or above a threshold (``ema_workbench``'s
  ``Prim``);
* ``analyze``: Sobol' for a Saltelli run, else PAWN, and rank correlations always.

``format_*`` give the CLI's text lines and ``*_json`` its ``--json``. docs/analysis.md says what each measure
means and when to use which. SALib and EMA Workbench are the ``analysis`` extra, imported when first used.
"""

from __future__ import annotations

import contextlib
import json
import math
import warnings
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
from numpy.typing import NDArray

from cluster.analysis import METRICS, PERIOD_METRICS, loss_by_policy
from cluster.errors import InputError
from cluster.store import Run
from cluster.timeline import HORIZON

__all__ = [
    "Box",
    "Limit",
    "PawnIndex",
    "RankCorrelation",
    "SensitivityResult",
    "SobolIndex",
    "analyze",
    "boxes_json",
    "design_of",
    "format_boxes",
    "format_sensitivity",
    "moment_free",
    "outcome",
    "prim_boxes",
    "rank_correlations",
    "saltelli_base",
    "sensitivity_json",
    "sobol_indices",
]

F64 = NDArray[np.float64]
#: Confidence level of every interval.
CONF = 0.95
#: Bootstrap resamples of the Sobol' intervals, and their seed (the same run gives the same intervals).
RESAMPLES = 1000
SEED = 0
#: PAWN's conditioning slides (SALib's default).
SLIDES = 10
_KEYS = ("scenario_id", "policy")


# ------------------------------------------------------------------------------------------------ results --
@dataclass(frozen=True)
class RankCorrelation:
    """Spearman's rank correlation of one parameter with the metric: rho, its 95% interval and p-value."""

    name: str
    rho: float
    low: float
    high: float
    p_value: float


@dataclass(frozen=True)
class SobolIndex:
    """First-order (``s1``) and total (``st``) Sobol' indices of one parameter, each +- its 95% half-width."""

    name: str
    s1: float
    s1_conf: float
    st: float
    st_conf: float


@dataclass(frozen=True)
class PawnIndex:
    """PAWN index of one parameter: the median, least and largest KS distance over the slides, their coefficient
    of variation, and ``critical``: the 95% KS critical value of a slide (an index below it is noise)."""

    name: str
    median: float
    minimum: float
    maximum: float
    cv: float
    critical: float


@dataclass(frozen=True)
class Limit:
    """A box's restriction of one parameter: ``low <= x <= high``; None on a side the box does not restrict."""

    name: str
    low: float | None
    high: float | None

    def describe(self) -> str:
        """``0.7 <= x1``, ``x2 <= 0.3`` or ``0.2 <= x3 <= 0.5``."""
        left = "" if self.low is None else f"{self.low:.4g} <= "
        right = "" if self.high is None else f" <= {self.high:.4g}"
        return f"{left}{self.name}{right}"


@dataclass(frozen=True)
class Box:
    """A PRIM box: its limits (restricted parameters only), the share of the cases of interest it holds
    (``coverage``), the share of its scenarios that are cases (``density``), its share of all scenarios
    (``mass``), its scenarios ``n`` and cases ``k``; cases are scenarios with the metric at or above
    ``threshold``."""

    limits: tuple[Limit, ...]
    coverage: float
    density: float
    mass: float
    n: int
    k: int
    threshold: float


@dataclass(frozen=True)
class SensitivityResult:
    """What ``analyze`` found for one metric, policy and region or country.

    ``method`` is ``sobol`` (a Saltelli run: ``sobol`` holds the indices, ``pawn`` is empty) or ``pawn`` (any other
    design). ``ranks`` are over the whole sample, or for a Saltelli run over its A and B rows (2N independent
    points). Every list is sorted by importance, largest first.
    """

    run: str
    metric: str
    policy: str
    level: str  # region | country
    unit: str  # the region or the country
    design: str
    n: int  # scenarios
    method: str  # sobol | pawn
    sobol: tuple[SobolIndex, ...]
    pawn: tuple[PawnIndex, ...]
    ranks: tuple[RankCorrelation, ...]
    mean: float
    std: float


# ---------------------------------------------------------------------------------------------- reading --
def design_of(run: Run) -> str:
    """The design of a run, from its manifest's config (``monte_carlo`` when it records none)."""
    config = run.manifest.get("config") or {}
    return str((config.get("run") or {}).get("design", "monte_carlo"))


def _choices(what: str, value: str, allowed: Sequence[str], where: str = "") -> InputError:
    shown = ", ".join(allowed) if allowed else "none"
    return InputError(f"unknown {what} {value!r}{where}: choose one of {shown}")


def _varying(dataset: ds.Dataset, names: list[str], where: pc.Expression) -> list[str]:
    """The columns among ``names`` that take more than one value in the rows ``where`` (a streaming scan)."""
    low = dict.fromkeys(names, math.inf)
    high = dict.fromkeys(names, -math.inf)
    for batch in dataset.to_batches(columns=names, filter=where):
        for n in names:
            if batch.num_rows:
                lo, hi = pc.min_max(batch.column(n)).values()
                low[n], high[n] = min(low[n], lo.as_py()), max(high[n], hi.as_py())
    return [n for n in names if high[n] > low[n]]


def outcome(
    run: Run, metric: str, *, policy: str, region: str | None = None, country: str | None = None
) -> tuple[dict[str, F64], F64]:
    """The drawn parameters that vary and ``metric`` under ``policy`` in ``region`` or ``country``, by scenario.

    A region's value comes from the results (``analysis.METRICS``), a country's from the country rows of the
    period tables over the whole horizon (``analysis.PERIOD_METRICS``). Both are in scenario order, one value per
    scenario; a null metric (``recovery_day`` that never comes) is NaN. Only the needed columns and rows are read.

    Raises
    ------
    InputError
        An unknown metric, policy, region or country (the message lists the choices), neither or both of
        ``region`` and ``country``, or parameters and results that cover different scenarios.
    """
    if (region is None) == (country is None):
        raise InputError("name a region or a country (one of them)")
    policies = [str(p) for p in run.manifest.get("policies") or []]
    if policy not in policies:
        raise _choices("policy", policy, policies, f" in run {run.path}")
    if region is not None:
        if metric not in METRICS:
            raise _choices("metric", metric, METRICS)
        regions = [str(r) for r in run.manifest.get("regions") or []]
        if region not in regions:
            raise _choices("region", region, regions, f" in run {run.path}")
        rows = run.results().to_table(
            columns=["scenario_id", metric],
            filter=(pc.field("policy") == policy) & (pc.field("region") == region),
        )
        rows = rows.sort_by("scenario_id")
        ids = rows["scenario_id"].to_numpy()
        y = rows[metric].cast(pa.float64()).to_numpy(zero_copy_only=False)
    else:
        assert country is not None
        if metric not in PERIOD_METRICS:
            raise _choices("metric", metric, PERIOD_METRICS, " (countries)")
        level = (pc.field("policy") == policy) & (pc.field("level") == "country") & (pc.field("period") == HORIZON)
        table = run.periods_table(
            columns=["scenario_id", "policy", "region", "level", "period", metric],
            filter=level & (pc.field("region") == country),
        )
        if table.num_rows == 0:
            first = run.periods_table(columns=["scenario_id"], filter=level).slice(0, 1)["scenario_id"].to_pylist()
            some = level & (pc.field("scenario_id") == (first[0] if first else -1))
            names = run.periods_table(columns=["region"], filter=some)["region"].to_pylist()
            raise _choices("country", country, list(dict.fromkeys(names)), f" in run {run.path}")
        y = loss_by_policy(table, [country], metric=metric, period=HORIZON, level="country")[policy]
        y = np.asarray(y, dtype=np.float64)
        ids = np.sort(pc.unique(table["scenario_id"]).to_numpy())
    params = run.params()
    names = [n for n in params.schema.names if n not in _KEYS]
    mine = pc.field("policy") == policy
    varying = _varying(params, names, mine)
    drawn = params.to_table(columns=["scenario_id", *varying], filter=mine).sort_by("scenario_id")
    if not np.array_equal(drawn["scenario_id"].to_numpy(), ids):
        raise InputError(
            f"run {run.path}: the parameters and the {metric} values of policy {policy!r} cover different "
            "scenarios; the run folder is damaged or partial: re-run it"
        )
    x = {n: drawn[n].to_numpy().astype(np.float64, copy=False) for n in varying}
    return x, y


# --------------------------------------------------------------------------------------------- measures --
def _check(x: Mapping[str, F64], y: F64, *, need: int = 4) -> tuple[list[str], NDArray[np.float64], F64]:
    """The names, the (n, d) matrix and y, refused when they cannot be analysed."""
    y = np.asarray(y, dtype=np.float64)
    names = list(x)
    if not names:
        raise InputError("no drawn parameter varies in this run: there is nothing to attribute the metric to")
    matrix = np.column_stack([np.asarray(x[n], dtype=np.float64) for n in names])
    if y.ndim != 1 or matrix.shape[0] != y.size:
        raise InputError(f"the metric has {y.size} values but the parameters {matrix.shape[0]} rows")
    if (bad := int(np.count_nonzero(~np.isfinite(y)))) > 0:
        raise InputError(
            f"the metric is null or not finite in {bad} of {y.size} scenarios (recovery_day: never recovers); "
            "choose another metric"
        )
    if y.size < need:
        raise InputError(f"{y.size} scenarios are too few: the analysis needs at least {need}")
    if float(np.ptp(y)) == 0.0:
        raise InputError(f"the metric is {y[0]:g} in every scenario: no parameter moves it, nothing to attribute")
    return names, matrix, y


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """SALib and EMA Workbench warn about their own defaults and reseed numpy's global generator: keep both in."""
    state = np.random.get_state()  # noqa: NPY002
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            yield
        finally:
            np.random.set_state(state)  # noqa: NPY002


def _problem(names: list[str], matrix: NDArray[np.float64]) -> dict[str, Any]:
    """A SALib problem: the names, and as bounds the sample's ranges (the analyses do not use them)."""
    lows, highs = matrix.min(axis=0), matrix.max(axis=0)
    return {
        "num_vars": len(names),
        "names": names,
        "bounds": [[float(lo), float(hi) if hi > lo else float(lo) + 1.0] for lo, hi in zip(lows, highs, strict=True)],
    }


def rank_correlations(x: Mapping[str, F64], y: F64) -> list[RankCorrelation]:
    """Spearman's rho of each parameter with ``y``, with a 95% interval, sorted by |rho|, largest first.

    The interval is Fisher's z-transform with Bonett and Wright's (2000) standard error for Spearman's rho,
    ``tanh(atanh(rho) +- 1.96 sqrt((1 + rho^2 / 2) / (n - 3)))``; the p-value is scipy's (t distribution).
    """
    from scipy import stats

    names, matrix, y = _check(x, y)
    n = y.size
    z = float(stats.norm.ppf(0.5 + CONF / 2))
    out = []
    for j, name in enumerate(names):
        res = stats.spearmanr(matrix[:, j], y)
        rho, p = float(res.statistic), float(res.pvalue)
        if not math.isfinite(rho):  # a constant column
            rho, p = 0.0, 1.0
        half = z * math.sqrt((1 + rho * rho / 2) / (n - 3))
        centre = math.atanh(max(min(rho, 1 - 1e-15), -1 + 1e-15))
        out.append(RankCorrelation(name, rho, math.tanh(centre - half), math.tanh(centre + half), p))
    return sorted(out, key=lambda r: -abs(r.rho))


def saltelli_base(n: int, d: int) -> int:
    """The base points N of a Saltelli sample of ``n`` rows over ``d`` parameters; ``InputError`` when ``n`` is
    not N x (d + 2) with N a power of 2."""
    if d < 1 or n % (d + 2) or (base := n // (d + 2)) < 1 or base & (base - 1):
        raise InputError(
            f"{n} scenarios are not a Saltelli sample of {d} parameters (N x (D + 2) = N x {d + 2} with N a "
            "power of 2); a parameter whose draws never varied is missing: run more draws"
        )
    return base


def _check_saltelli(matrix: NDArray[np.float64], d: int) -> None:
    """Row k of each block is row 0 (A) with column k - 1 from the last row (B): the layout SALib analyses."""
    block = matrix[: d + 2]
    for k in range(1, d + 1):
        other = np.delete(np.arange(d), k - 1)
        if not (np.array_equal(block[k, other], block[0, other]) and block[k, k - 1] == block[d + 1, k - 1]):
            raise InputError(
                f"the scenarios are not in the Saltelli layout (row {k} is not A with column {k} from B): "
                'Sobol\' indices need a run of design = "saltelli"'
            )


def sobol_indices(x: Mapping[str, F64], y: F64, *, resamples: int = RESAMPLES, seed: int = SEED) -> list[SobolIndex]:
    """First-order and total Sobol' indices of each parameter, +- 95% bootstrap half-widths, sorted by ``st``.

    ``x`` and ``y`` are a Saltelli sample in SALib's row order (``design = "saltelli"``: per base point A,
    AB_1 .. AB_D, B), analysed by ``SALib.analyze.sobol.analyze`` without second order (Saltelli 2010's
    first-order and Jansen's total estimator).
    """
    names, matrix, y = _check(x, y)
    saltelli_base(y.size, len(names))
    _check_saltelli(matrix, len(names))
    from SALib.analyze import sobol  # type: ignore[import-untyped]

    with _quiet():
        found = sobol.analyze(
            _problem(names, matrix),
            y,
            calc_second_order=False,
            num_resamples=resamples,
            conf_level=CONF,
            seed=seed,
        )
    out = [
        SobolIndex(
            n, float(found["S1"][j]), float(found["S1_conf"][j]), float(found["ST"][j]), float(found["ST_conf"][j])
        )
        for j, n in enumerate(names)
    ]
    return sorted(out, key=lambda s: -s.st)


def moment_free(x: Mapping[str, F64], y: F64, *, slides: int = SLIDES) -> list[PawnIndex]:
    """PAWN indices (``SALib.analyze.pawn``) of each parameter from any sample, sorted by the median, largest first.

    For each of ``slides`` equal-count slices of a parameter's range, the Kolmogorov-Smirnov distance between
    the metric's distribution in the slice and over all scenarios; the index summarises them over the slices.
    ``critical`` is the distance two samples of the slice's and the whole size exceed with probability 5% when the
    parameter does not matter (the asymptotic KS bound): an index below it is indistinguishable from noise.
    """
    names, matrix, y = _check(x, y, need=2 * slides)
    from SALib.analyze import pawn  # type: ignore[import-untyped]

    with _quiet():
        found = pawn.analyze(_problem(names, matrix), matrix, y, S=slides)
    n_slice = y.size / slides
    critical = 1.358 * math.sqrt((n_slice + y.size) / (n_slice * y.size))
    out = [
        PawnIndex(
            n,
            float(found["median"][j]),
            float(found["minimum"][j]),
            float(found["maximum"][j]),
            float(found["CV"][j]),
            critical,
        )
        for j, n in enumerate(names)
    ]
    return sorted(out, key=lambda s: -s.median)


def analyze(
    run: Run, metric: str, *, policy: str, region: str | None = None, country: str | None = None
) -> SensitivityResult:
    """Sensitivity of ``metric`` under ``policy`` in ``region`` or ``country`` to the drawn parameters.

    A run of ``design = "saltelli"`` gets Sobol' indices, any other PAWN indices; both get rank correlations
    (a Saltelli run over its A and B rows). ``InputError`` as ``outcome``, and for a metric that cannot be
    analysed (null somewhere, or constant).
    """
    x, y = outcome(run, metric, policy=policy, region=region, country=country)
    design = design_of(run)
    names, matrix, y = _check(x, y)
    sobol: list[SobolIndex] = []
    pawn: list[PawnIndex] = []
    if design == "saltelli":
        sobol = sobol_indices(x, y)
        d = len(names)
        rows = np.arange(y.size) % (d + 2)
        ab = (rows == 0) | (rows == d + 1)
        ranks = rank_correlations({n: matrix[ab, j] for j, n in enumerate(names)}, y[ab])
    else:
        pawn = moment_free(x, y)
        ranks = rank_correlations(x, y)
    return SensitivityResult(
        run=run.path,
        metric=metric,
        policy=policy,
        level="region" if region is not None else "country",
        unit=str(region if region is not None else country),
        design=design,
        n=int(y.size),
        method="sobol" if design == "saltelli" else "pawn",
        sobol=tuple(sobol),
        pawn=tuple(pawn),
        ranks=tuple(ranks),
        mean=float(np.mean(y)),
        std=float(np.std(y, ddof=1)),
    )


# ---------------------------------------------------------------------------------------------------- PRIM --
def prim_boxes(
    x: Mapping[str, F64],
    y: F64,
    *,
    threshold: float | None = None,
    quantile: float = 0.95,
    min_density: float = 0.8,
    mass_min: float = 0.05,
    max_boxes: int = 3,
) -> list[Box]:
    """PRIM boxes of the scenarios with ``y`` at or above ``threshold`` (default: its ``quantile``).

    EMA Workbench's ``Prim`` (binary mode, its defaults: peeling and pasting alpha 0.05, lenient objective)
    peels each box down to ``mass_min`` of the scenarios; of its peeling trajectory we keep the box with the
    largest coverage among those of density >= ``min_density`` (ties: the higher density). A box is kept only when
    EMA accepts it (its last peel reaches ``min_density``); then its scenarios are removed and the next box is
    sought (the covering approach), at most ``max_boxes``. No box: an empty list.
    """
    names, matrix, y = _check(x, y)
    if not 0 < quantile < 1:
        raise InputError(f"quantile {quantile!r} must be between 0 and 1")
    if not 0 < min_density <= 1:
        raise InputError(f"min_density {min_density!r} must be in (0, 1]")
    cut = float(np.quantile(y, quantile)) if threshold is None else float(threshold)
    cases = y >= cut
    if not cases.any():
        raise InputError(f"no scenario has the metric at or above {cut:g} (its largest is {y.max():g})")
    if cases.all():
        raise InputError(f"every scenario has the metric at or above {cut:g}: nothing to tell apart")
    import pandas as pd

    with _quiet():
        from ema_workbench.analysis import prim  # type: ignore[import-untyped]

        frame = pd.DataFrame({n: matrix[:, j] for j, n in enumerate(names)})
        finder = prim.Prim(frame, cases, threshold=min_density, mass_min=mass_min)
        init = finder.box_init
        out: list[Box] = []
        for _ in range(max_boxes):
            box = finder.find_box()
            if box is None or len(box.peeling_trajectory) < 2:  # nothing left, or EMA's dump box
                break
            traj = box.peeling_trajectory
            good = traj[traj["density"] >= min_density]
            if good.empty:
                break
            best = int(good.sort_values(["coverage", "density"], ascending=False).index[0])
            box.select(best)
            lims = box.box_lims[best]
            limits = []
            for name in names:
                lo, hi = float(lims[name].iloc[0]), float(lims[name].iloc[1])
                lo_init, hi_init = float(init[name].iloc[0]), float(init[name].iloc[1])
                if lo > lo_init or hi < hi_init:
                    limits.append(Limit(name, lo if lo > lo_init else None, hi if hi < hi_init else None))
            row = traj.loc[best]
            out.append(
                Box(
                    limits=tuple(limits),
                    coverage=float(row["coverage"]),
                    density=float(row["density"]),
                    mass=float(row["mass"]),
                    n=int(row["n"]),
                    k=int(row["k"]),
                    threshold=cut,
                )
            )
    return out


# -------------------------------------------------------------------------------------------------- output --
def _f(value: float, digits: int = 3) -> str:
    return "-" if not math.isfinite(value) else f"{value:.{digits}f}"


def _table(header: list[str], rows: list[list[str]], left: int = 1) -> list[str]:
    widths = [max(len(r[j]) for r in [header, *rows]) for j in range(len(header))]

    def render(r: list[str]) -> str:
        cells = [c.ljust(widths[j]) if j < left else c.rjust(widths[j]) for j, c in enumerate(r)]
        return "  ".join(cells).rstrip()

    return [render(header), *(render(r) for r in rows)]


def format_sensitivity(result: SensitivityResult) -> list[str]:
    """A sensitivity result as text lines: a title, then the indices and the rank correlations, each a table."""
    where = f"{result.level} {result.unit}"
    lines = [
        f"{result.metric} under {result.policy} in {where}: {result.n:,} scenarios ({result.design}), "
        f"mean {result.mean:.4g}, std {result.std:.4g}"
    ]
    if result.method == "sobol":
        lines.append("Sobol' indices (SALib, Saltelli/Jansen estimators; +- 95% bootstrap half-width):")
        rows = [[s.name, _f(s.s1), _f(s.s1_conf), _f(s.st), _f(s.st_conf), _f(s.st - s.s1)] for s in result.sobol]
        lines += ["  " + t for t in _table(["parameter", "S1", "+-", "ST", "+-", "ST-S1"], rows)]
    else:
        critical = result.pawn[0].critical if result.pawn else math.nan
        lines.append(
            f"PAWN indices (SALib; KS distance over {SLIDES} slides; below {critical:.3f} is indistinguishable from "
            "noise at 95%):"
        )
        rows = [[p.name, _f(p.median), _f(p.minimum), _f(p.maximum), _f(p.cv, 2)] for p in result.pawn]
        lines += ["  " + t for t in _table(["parameter", "median", "min", "max", "cv"], rows)]
    basis = " (A and B rows)" if result.method == "sobol" else ""
    lines.append(f"Spearman rank correlations{basis}, 95% interval:")
    rows = [[r.name, _f(r.rho), f"[{_f(r.low)}, {_f(r.high)}]", f"{r.p_value:.2g}"] for r in result.ranks]
    lines += ["  " + t for t in _table(["parameter", "rho", "95% interval", "p"], rows)]
    return lines


def _plain(value: Any) -> Any:
    """JSON has no NaN: an undefined number is null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def sensitivity_json(result: SensitivityResult) -> str:
    """A sensitivity result as JSON: its fields, the index lists as lists of objects."""
    return json.dumps(_plain(asdict(result)), indent=2, allow_nan=False)


def format_boxes(boxes: Sequence[Box], *, metric: str = "metric") -> list[str]:
    """PRIM boxes as text lines: a title, then per box its statistics and one line per limit."""
    if not boxes:
        return [f"no PRIM box of the scenarios with {metric} at or above the threshold reaches the density asked for"]
    lines = [f"PRIM boxes (EMA Workbench) of the scenarios with {metric} >= {boxes[0].threshold:.4g}:"]
    for i, box in enumerate(boxes, 1):
        lines.append(
            f"box {i}: coverage {box.coverage:.3f}, density {box.density:.3f}, mass {box.mass:.3f} "
            f"({box.k:,} of its {box.n:,} scenarios)"
        )
        lines += [f"  {lim.describe()}" for lim in box.limits] or ["  (no restriction)"]
    return lines


def boxes_json(boxes: Sequence[Box]) -> str:
    """PRIM boxes as JSON: a list of objects (limits as objects with ``name``, ``low``, ``high``)."""
    return json.dumps(_plain([asdict(b) for b in boxes]), indent=2, allow_nan=False)
