"""The figures of ``shock report``: matplotlib (object API, no pyplot, so no global backend is touched) drawn
into SVG text to be embedded inline in one HTML page.

Every figure is drawn from a few numbers per unit and policy that ``cluster.report`` reduced from the run
(quantiles, means, intervals), never from the draws themselves, so its size does not grow with the draws.
Text is turned into paths (``svg.fonttype = "path"``) in DejaVu Sans, the font matplotlib ships: the page
needs no font of the system that shows it. Colours: the Okabe-Ito palette (safe for the common kinds of
colour blindness), one per policy, the same in every figure.
"""

from __future__ import annotations

import io
import math
import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import matplotlib
import numpy as np
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter
from numpy.typing import NDArray

__all__ = [
    "LOSS_LABEL",
    "VA_LABEL",
    "Convergence",
    "Dist",
    "Fan",
    "Paired",
    "ParamRange",
    "UnitStats",
    "colours",
    "convergence",
    "fan_charts",
    "loss_boxes",
    "paired_forest",
    "regional",
    "sobol_bars",
    "tornado",
    "worst_ranges",
]

F64 = NDArray[np.float64]

#: The Okabe-Ito palette without its yellow (too pale on white) and black (kept for text); the baseline policy
#: ``status_quo`` is grey.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#D55E00", "#56B4E9", "#000000")
GREY = "#7A7A7A"
WORSE = "#D55E00"  # vermillion: the worst draws, positive correlations
BETTER = "#0072B2"  # blue: negative correlations

LOSS_LABEL = "Loss of real value added over the horizon (% of one year's baseline value added)"
VA_LABEL = "Real value added (% of the no-sanction baseline)"

_RC: Any = {  # matplotlib types the keys as a Literal of every rc name
    "font.family": "DejaVu Sans",
    "font.size": 9.0,
    "axes.titlesize": 10.0,
    "axes.labelsize": 9.0,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": False,
    "legend.fontsize": 8.5,
    "legend.frameon": False,
    "svg.fonttype": "path",
    "svg.hashsalt": "shock-report",
    "svg.image_inline": True,
    "figure.dpi": 100.0,
    "savefig.bbox": "tight",
    "savefig.pad_inches": 0.08,
}


# ------------------------------------------------------------------------------------------------ numbers --
@dataclass(frozen=True)
class Dist:
    """A distribution over the draws: its count, mean, 5/25/50/75/95th percentiles and CVaR 95% (the mean of the
    values at or above the 95th percentile)."""

    n: int
    mean: float
    p5: float
    p25: float
    p50: float
    p75: float
    p95: float
    cvar95: float

    @classmethod
    def of(cls, values: F64) -> Dist:
        v = values[np.isfinite(values)]
        if v.size == 0:
            return cls(0, *([math.nan] * 7))
        p5, p25, p50, p75, p95 = (float(q) for q in np.quantile(v, [0.05, 0.25, 0.5, 0.75, 0.95]))
        return cls(int(v.size), float(v.mean()), p5, p25, p50, p75, p95, float(v[v >= p95].mean()))


@dataclass(frozen=True)
class Paired:
    """A policy against the baseline on the same draws: the mean of the per-draw differences (policy - baseline)
    with its standard error and 95% interval (Student t), the share of draws where the policy's loss is lower
    (``p_better``) and higher (``p_worse``), ties counted half (as ``analysis.compare``), and the distribution of
    the differences."""

    n: int
    mean: float
    se: float
    low: float
    high: float
    p_better: float
    p_worse: float
    diffs: Dist


@dataclass(frozen=True)
class UnitStats:
    """One country or domestic region: its loss distribution per policy and the paired differences of each
    policy but the baseline."""

    unit: str
    name: str  # long name
    country: str
    level: str  # country | region
    loss: Mapping[str, Dist]
    paired: Mapping[str, Paired]

    @property
    def label(self) -> str:
        return self.name if self.level == "country" or not self.name else f"{self.name} ({self.country})"


@dataclass(frozen=True)
class Fan:
    """Quantiles over the draws of one country's real value added (% of baseline) at each time step: ``q`` is
    (5, steps), the 5/25/50/75/95th percentiles; ``x`` the steps (days since day 0, or dates); ``ticks`` labels
    the steps of a quarterly fan."""

    x: NDArray[Any]
    q: F64
    ticks: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Convergence:
    """The Monte Carlo standard error of the mean loss after the first ``n`` draws, with the running mean."""

    n: NDArray[np.int64]
    se: F64
    mean: F64


@dataclass(frozen=True)
class ParamRange:
    """One parameter over all draws and over the worst 5%: min, max, and the 5/50/95th percentiles of each."""

    name: str
    low: float
    high: float
    all_q: tuple[float, float, float]
    worst_q: tuple[float, float, float]
    rho: float


def colours(policies: Sequence[str]) -> dict[str, str]:
    """One colour per policy, in the run's order: ``status_quo`` grey, the others the Okabe-Ito colours."""
    out: dict[str, str] = {}
    others = iter(PALETTE * (1 + len(policies) // len(PALETTE)))
    for p in policies:
        out[p] = GREY if p == "status_quo" else next(others)
    return out


# -------------------------------------------------------------------------------------------------- SVG --
@contextmanager
def _style() -> Iterator[None]:
    with matplotlib.rc_context(_RC):
        yield


def _svg(fig: Figure, key: str) -> str:
    """The figure as SVG text for inline use: no XML prolog or doctype, every id prefixed with ``key`` (several
    matplotlib SVGs in one page would otherwise share glyph and clip-path ids), without its RDF metadata, scaled
    to the page's width."""
    buf = io.StringIO()
    fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None})
    text = buf.getvalue()
    text = text[text.index("<svg") :]
    text = re.sub(r"\s*<metadata>.*?</metadata>", "", text, count=1, flags=re.DOTALL)  # RDF: namespaces only
    text = re.sub(r'\bid="([^"]+)"', lambda m: f'id="{key}-{m.group(1)}"', text)
    text = re.sub(r'(href="#|url\(#)([^")]+)', lambda m: f"{m.group(1)}{key}-{m.group(2)}", text)
    match = re.search(r'<svg[^>]*?\swidth="([\d.]+)pt"[^>]*>', text)
    width = match.group(1) if match else None
    text = re.sub(r'(<svg[^>]*?)\swidth="[\d.]+pt" height="[\d.]+pt"', r"\1", text, count=1)
    style = f' style="max-width:{width}pt"' if width else ""
    return text.replace("<svg", f'<svg role="img" class="figure-svg"{style}', 1)


def _plain(value: float, _pos: int | None = None) -> str:
    """A log axis's tick as a plain number (0.2, 50, 1,000), not a power of ten."""
    return f"{value:,.6g}"


def _zero(ax: Axes, vertical: bool = True) -> None:
    if vertical:
        ax.axvline(0.0, color="#444444", lw=0.8, zorder=0)
    else:
        ax.axhline(0.0, color="#444444", lw=0.8, zorder=0)


def _box(ax: Axes, y: float, d: Dist, colour: str, height: float) -> None:
    """A horizontal box: whiskers from the 5th to the 95th percentile, the box the quartiles, a bar the median,
    a diamond the mean."""
    if d.n == 0:
        return
    ax.hlines(y, d.p5, d.p95, color=colour, lw=1.0, zorder=2)
    ax.vlines([d.p5, d.p95], y - height / 4, y + height / 4, color=colour, lw=1.0, zorder=2)
    ax.barh(y, d.p75 - d.p25, left=d.p25, height=height, color=colour, alpha=0.35, edgecolor=colour, lw=1.0, zorder=3)
    ax.vlines(d.p50, y - height / 2, y + height / 2, color=colour, lw=2.0, zorder=4)
    ax.plot([d.mean], [y], marker="D", ms=4.0, mfc="white", mec=colour, mew=1.2, zorder=5, ls="none")


def _policy_legend(ax: Axes | Figure, policies: Sequence[str], colour: Mapping[str, str], **kw: Any) -> None:
    handles = [Patch(facecolor=colour[p], edgecolor=colour[p], alpha=0.6, label=p) for p in policies]
    ax.legend(handles=handles, **kw)


def _box_key() -> list[Artist]:
    return [
        Line2D([], [], color="#555555", lw=2.0, label="median"),
        Line2D([], [], marker="D", ms=4.0, mfc="white", mec="#555555", ls="none", label="mean"),
        Patch(facecolor="#BBBBBB", edgecolor="#555555", label="box: 25th-75th pct; whiskers: 5th-95th"),
    ]


# --------------------------------------------------------------------------------------------- figures --
def loss_boxes(
    units: Sequence[UnitStats], policies: Sequence[str], colour: Mapping[str, str], *, title: str, key: str
) -> str:
    """Horizontal box plots of the loss, one group per unit, one box per policy in the group."""
    k = len(policies)
    rows = len(units) * (k + 1)
    with _style():
        fig = Figure(figsize=(9.5, 1.2 + 0.17 * rows))
        ax = fig.add_subplot()
        centres = []
        for i, unit in enumerate(units):
            top = i * (k + 1)
            centres.append(top + (k - 1) / 2)
            for j, p in enumerate(policies):
                if p in unit.loss:
                    _box(ax, top + j, unit.loss[p], colour[p], 0.7)
            if i:
                ax.axhline(top - 1, color="#DDDDDD", lw=0.6, zorder=0)
        ax.set_yticks(centres, [u.label for u in units])
        ax.set_ylim(rows - 1.5, -0.8)
        ax.set_xlabel(LOSS_LABEL)
        ax.set_title(title, loc="left")
        ax.grid(axis="x", color="#EEEEEE", lw=0.6)
        ax.set_axisbelow(True)
        _zero(ax)
        handles = [Patch(facecolor=colour[p], edgecolor=colour[p], alpha=0.6, label=p) for p in policies]
        ax.legend(handles=[*handles, *_box_key()], loc="upper left", bbox_to_anchor=(1.01, 1.0))
        return _svg(fig, key)


def paired_forest(
    units: Sequence[UnitStats], policies: Sequence[str], colour: Mapping[str, str], baseline: str, *, key: str
) -> str:
    """Per unit, a panel: each policy's per-draw differences from the baseline (box: quartiles, whiskers: 5th-95th
    percentiles) and their mean with its 95% interval (black bar), and the probability that it does better."""
    k = len(policies)
    with _style():
        fig = Figure(figsize=(9.5, 0.9 + (0.42 * k + 0.6) * len(units)))
        axes = fig.subplots(len(units), 1, squeeze=False)[:, 0]
        for ax, unit in zip(axes, units, strict=True):
            for j, p in enumerate(policies):
                pair = unit.paired.get(p)
                if pair is None or pair.n == 0:
                    continue
                _box(ax, j, pair.diffs, colour[p], 0.55)
                ax.errorbar(
                    [pair.mean],
                    [j],
                    xerr=[[pair.mean - pair.low], [pair.high - pair.mean]],
                    fmt="o",
                    color="black",
                    ms=3.5,
                    capsize=3.0,
                    lw=1.6,
                    zorder=6,
                )
                ax.text(
                    1.01,
                    j,
                    f"better in {100 * pair.p_better:.0f}% of draws",
                    transform=ax.get_yaxis_transform(),
                    va="center",
                    fontsize=8.5,
                )
            _zero(ax)
            ax.set_yticks(range(k), list(policies))
            ax.set_ylim(k - 0.4, -0.6)
            ax.set_title(f"{unit.label}: loss under each policy minus loss under {baseline}, draw by draw", loc="left")
            ax.grid(axis="x", color="#EEEEEE", lw=0.6)
            ax.set_axisbelow(True)
        axes[-1].set_xlabel(f"Paired difference in loss vs {baseline} (percentage points of one year's value added)")
        mean_key = Line2D([], [], marker="o", color="black", ms=3.5, lw=1.6, label="mean difference, 95% interval")
        axes[0].legend(handles=[mean_key, *_box_key()[:1], _box_key()[2]], loc="lower left", bbox_to_anchor=(0, 1.12))
        fig.subplots_adjust(hspace=0.7)
        return _svg(fig, key)


def fan_charts(
    fans: Mapping[str, Mapping[str, Fan]],
    names: Mapping[str, str],
    policies: Sequence[str],
    colour: Mapping[str, str],
    baseline: str,
    *,
    xlabel: str,
    key: str,
) -> str:
    """A grid of fan charts, a row per country and a column per policy: the median path of real value added
    (% of baseline), its 50% and 90% bands, and in the other columns the baseline policy's median, dashed."""
    countries = list(fans)
    k = len(policies)
    with _style():
        fig = Figure(figsize=(max(9.5, 2.3 * k), 1.0 + 2.3 * len(countries)), layout="constrained")
        axes = fig.subplots(len(countries), k, squeeze=False, sharex=True, sharey="row")
        for i, c in enumerate(countries):
            row = fans[c]
            for j, p in enumerate(policies):
                ax = axes[i, j]
                fan = row.get(p)
                if fan is None:
                    ax.set_axis_off()
                    continue
                x = fan.x
                ax.fill_between(x, fan.q[0], fan.q[4], color=colour[p], alpha=0.18, lw=0)
                ax.fill_between(x, fan.q[1], fan.q[3], color=colour[p], alpha=0.38, lw=0)
                ax.plot(x, fan.q[2], color=colour[p], lw=1.6)
                if p != baseline and baseline in row:
                    ax.plot(x, row[baseline].q[2], color="#333333", lw=1.0, ls="--")
                ax.axhline(100.0, color="#999999", lw=0.6, zorder=0)
                if fan.ticks is not None:
                    step = max(1, math.ceil(len(fan.ticks) / 6))
                    ax.set_xticks(x[::step], list(fan.ticks[::step]))
                    ax.tick_params(axis="x", labelrotation=45)
                ax.tick_params(labelsize=7.5)
                if i == 0:
                    ax.set_title(p, color=colour[p] if colour[p] != GREY else "#333333", fontweight="bold")
                if j == 0:
                    ax.set_ylabel(f"{names.get(c, c)}\nreal value added, % of baseline")
                ax.grid(axis="y", color="#EEEEEE", lw=0.6)
        fig.supxlabel(xlabel, fontsize=9.0)
        handles = [
            Patch(facecolor="#888888", alpha=0.25, label="90% of draws"),
            Patch(facecolor="#888888", alpha=0.5, label="50% of draws"),
            Line2D([], [], color="#555555", lw=1.6, label="median"),
            Line2D([], [], color="#333333", lw=1.0, ls="--", label=f"median under {baseline}"),
        ]
        fig.legend(handles=handles, loc="outside upper center", ncols=4)
        return _svg(fig, key)


def regional(
    regions: Sequence[UnitStats], policies: Sequence[str], colour: Mapping[str, str], baseline: str, *, key: str
) -> str:
    """The domestic regions ranked by their median loss under the baseline (bars, with 5th-95th percentile
    whiskers), and beside them each policy's mean gain over the baseline (loss reduction, 95% interval)."""
    order = sorted(regions, key=lambda u: -u.loss[baseline].p50 if baseline in u.loss else math.inf)
    others = [p for p in policies if p != baseline]
    n = len(order)
    with _style():
        fig = Figure(figsize=(10.5, 1.3 + 0.3 * n))
        left, right = fig.subplots(1, 2, sharey=True, gridspec_kw={"width_ratios": [1.0, 1.15], "wspace": 0.08})
        ys = np.arange(n, dtype=np.float64)
        med = np.array([u.loss[baseline].p50 if baseline in u.loss else math.nan for u in order])
        p5 = np.array([u.loss[baseline].p5 if baseline in u.loss else math.nan for u in order])
        p95 = np.array([u.loss[baseline].p95 if baseline in u.loss else math.nan for u in order])
        left.barh(ys, med, height=0.62, color=colour[baseline], alpha=0.75, label=f"median loss under {baseline}")
        left.errorbar(
            med, ys, xerr=[med - p5, p95 - med], fmt="none", ecolor="#333333", lw=0.9, capsize=2.0, label="5th-95th pct"
        )
        left.set_yticks(ys, [u.label for u in order])
        left.set_ylim(n - 0.4, -0.6)
        left.set_xlabel(f"Loss under {baseline}\n(% of one year's baseline value added)")
        left.set_title(f"Median loss under {baseline}, ranked", loc="left")
        left.grid(axis="x", color="#EEEEEE", lw=0.6)
        left.set_axisbelow(True)
        left.legend(loc="lower right")
        _zero(left)
        width = 0.8 / max(len(others), 1)
        for j, p in enumerate(others):
            offs = ys - 0.4 + width * (j + 0.5)
            gain = np.array([-u.paired[p].mean if p in u.paired else math.nan for u in order])
            lo = np.array([-u.paired[p].high if p in u.paired else math.nan for u in order])
            hi = np.array([-u.paired[p].low if p in u.paired else math.nan for u in order])
            right.barh(offs, gain, height=width * 0.9, color=colour[p], alpha=0.85, label=p)
            right.errorbar(gain, offs, xerr=[gain - lo, hi - gain], fmt="none", ecolor="#333333", lw=0.7)
        _zero(right)
        right.set_xlabel(f"Gain over {baseline}: mean loss reduction, draw by draw\n(percentage points; > 0: better)")
        right.set_title("Each policy's gain (95% interval)", loc="left")
        right.grid(axis="x", color="#EEEEEE", lw=0.6)
        right.set_axisbelow(True)
        right.tick_params(axis="y", left=False)
        right.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0))
        return _svg(fig, key)


def tornado(ranks: Sequence[Any], *, title: str, key: str, top: int = 12) -> str:
    """Spearman rank correlations of the parameters with the loss, largest magnitude on top, with 95% intervals
    (``ranks``: ``sensitivity.RankCorrelation``, sorted by |rho|)."""
    shown = list(ranks)[:top]
    n = len(shown)
    with _style():
        fig = Figure(figsize=(9.0, 1.1 + 0.3 * n))
        ax = fig.add_subplot()
        ys = np.arange(n, dtype=np.float64)
        rho = np.array([r.rho for r in shown])
        ax.barh(ys, rho, height=0.65, color=[WORSE if v > 0 else BETTER for v in rho], alpha=0.85)
        lo, hi = np.array([r.low for r in shown]), np.array([r.high for r in shown])
        ax.errorbar(rho, ys, xerr=[rho - lo, hi - rho], fmt="none", ecolor="#333333", lw=0.9, capsize=2.0)
        ax.set_yticks(ys, [r.name for r in shown])
        ax.set_ylim(n - 0.4, -0.6)
        ax.set_xlim(-1.0, 1.0)
        _zero(ax)
        ax.set_xlabel("Spearman rank correlation with the loss (-1 to 1; 95% interval)")
        ax.set_title(title, loc="left")
        ax.grid(axis="x", color="#EEEEEE", lw=0.6)
        ax.set_axisbelow(True)
        ax.legend(
            handles=[
                Patch(color=WORSE, alpha=0.85, label="higher value, higher loss"),
                Patch(color=BETTER, alpha=0.85, label="higher value, lower loss"),
            ],
            loc="lower right",
        )
        return _svg(fig, key)


def sobol_bars(indices: Sequence[Any], *, title: str, key: str, top: int = 12) -> str:
    """First-order and total Sobol' indices with their 95% intervals (``indices``: ``sensitivity.SobolIndex``,
    sorted by the total index)."""
    shown = list(indices)[:top]
    n = len(shown)
    with _style():
        fig = Figure(figsize=(9.0, 1.1 + 0.34 * n))
        ax = fig.add_subplot()
        ys = np.arange(n, dtype=np.float64)
        s1 = np.array([s.s1 for s in shown])
        st = np.array([s.st for s in shown])
        ax.barh(ys - 0.18, st, height=0.34, color=WORSE, alpha=0.85, label="total index S_T (with interactions)")
        ax.errorbar(st, ys - 0.18, xerr=[s.st_conf for s in shown], fmt="none", ecolor="#333333", lw=0.9, capsize=2)
        ax.barh(ys + 0.18, s1, height=0.34, color=BETTER, alpha=0.85, label="first-order index S_1 (alone)")
        ax.errorbar(s1, ys + 0.18, xerr=[s.s1_conf for s in shown], fmt="none", ecolor="#333333", lw=0.9, capsize=2)
        ax.set_yticks(ys, [s.name for s in shown])
        ax.set_ylim(n - 0.4, -0.6)
        _zero(ax)
        ax.set_xlabel("Share of the variance of the loss (0 to 1; 95% bootstrap interval)")
        ax.set_title(title, loc="left")
        ax.grid(axis="x", color="#EEEEEE", lw=0.6)
        ax.set_axisbelow(True)
        ax.legend(loc="lower right")
        return _svg(fig, key)


def worst_ranges(rows: Sequence[ParamRange], *, title: str, key: str) -> str:
    """Each parameter's spread over all draws and over the worst 5%, on a common scale: 0 is the smallest value
    drawn, 1 the largest; bars from the 5th to the 95th percentile, a dot the median."""
    n = len(rows)
    with _style():
        fig = Figure(figsize=(9.0, 1.2 + 0.34 * n))
        ax = fig.add_subplot()
        for i, r in enumerate(rows):
            span = r.high - r.low if r.high > r.low else 1.0

            def scale(v: float, low: float = r.low, width: float = span) -> float:
                return (v - low) / width

            a = [scale(v) for v in r.all_q]
            w = [scale(v) for v in r.worst_q]
            ax.hlines(i - 0.15, a[0], a[2], color=GREY, lw=5.0, alpha=0.6)
            ax.plot([a[1]], [i - 0.15], "o", color="#444444", ms=4.0)
            ax.hlines(i + 0.15, w[0], w[2], color=WORSE, lw=5.0, alpha=0.8)
            ax.plot([w[1]], [i + 0.15], "o", color="#7A2E00", ms=4.0)
            ax.text(
                1.03, i, f"{r.low:.3g} … {r.high:.3g}", va="center", fontsize=7.5, transform=ax.get_yaxis_transform()
            )
        ax.set_yticks(range(n), [r.name for r in rows])
        ax.set_ylim(n - 0.4, -0.6)
        ax.set_xlim(-0.02, 1.02)
        ax.set_xlabel("Position in the range drawn (0 = smallest value drawn, 1 = largest; drawn range at right)")
        ax.set_title(title, loc="left")
        ax.grid(axis="x", color="#EEEEEE", lw=0.6)
        ax.set_axisbelow(True)
        ax.legend(
            handles=[
                Line2D([], [], color=GREY, lw=5.0, alpha=0.6, label="all draws: 5th-95th pct, median"),
                Line2D([], [], color=WORSE, lw=5.0, alpha=0.8, label="worst 5% of draws"),
            ],
            loc="lower left",
            bbox_to_anchor=(0.0, 1.04),
            ncols=2,
        )
        return _svg(fig, key)


def convergence(
    curves: Mapping[str, Convergence], names: Mapping[str, str], colour: str, baseline: str, *, key: str
) -> str:
    """Per country, the Monte Carlo standard error of the mean loss against the draws used (log-log), with the
    1/sqrt(n) line through the last point."""
    k = len(curves)
    with _style():
        fig = Figure(figsize=(max(4.7 * k, 6.0), 3.6))
        axes = fig.subplots(1, k, squeeze=False)[0]
        for ax, (c, curve) in zip(axes, curves.items(), strict=True):
            ok = np.isfinite(curve.se) & (curve.se > 0)
            n, se = curve.n[ok], curve.se[ok]
            if n.size:
                ax.plot(n, se, color=colour, lw=1.6, label="standard error of the mean")
                ref = se[-1] * np.sqrt(n[-1] / n.astype(np.float64))
                ax.plot(n, ref, color="#333333", lw=0.9, ls="--", label=r"$\propto 1/\sqrt{n}$")
                ax.set_xscale("log")
                ax.set_yscale("log")
                for axis in (ax.xaxis, ax.yaxis):
                    axis.set_major_formatter(FuncFormatter(_plain))
                    axis.set_minor_formatter(FuncFormatter(_plain))
                mean = curve.mean[ok][-1]
                ax.text(
                    0.98,
                    0.95,
                    f"n = {int(n[-1]):,}: mean {mean:.3g} ± {1.96 * se[-1]:.2g} (95%)",
                    transform=ax.transAxes,
                    ha="right",
                    va="top",
                    fontsize=8.0,
                )
            ax.set_title(f"{names.get(c, c)}, {baseline}", loc="left")
            ax.set_xlabel("Draws used (first n, in scenario order)")
            ax.set_ylabel("Standard error of the mean loss\n(percentage points)")
            ax.grid(color="#EEEEEE", lw=0.6, which="both")
            ax.legend(loc="lower left")
        fig.subplots_adjust(wspace=0.35)
        return _svg(fig, key)
