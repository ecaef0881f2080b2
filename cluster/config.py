"""Scenario configs: TOML -> typed, frozen objects, validated once, with errors naming file, key and fix.

A config (see ``configs/*.toml``, the README and ``docs/config.md``) has the tables ``[run]``, ``[economy]``,
``[sanctions]``, ``[ario]``, ``[prices]``, ``[demand.NAME]``, ``[adaptation]``, ``[projects.NAME]`` (all optional)
and ``[policies.NAME]``. The parameter
keys each table takes, their units, defaults and bounds are declared once in ``cluster.parameters``; this module
reads them from that table. Every parameter of kind ``dist`` takes a *distribution*:

* a plain number: fixed;
* ``{uniform = [low, high]}``, ``{triangular = [low, mode, high]}``;
* ``{beta = [a, b]}`` on [0, 1], or ``{beta = [a, b], low = L, high = H}`` scaled to [L, H];
* ``{lognormal = {median = M, sigma = S}}`` (draws are clipped to the key's allowed range);
* ``{bernoulli = p}`` (0 or 1);
* ``{categorical = {values = [...], weights = [...]}}``.

Per-sector and per-partner tables take the sector or region labels as keys and ``default`` for the others;
each sector (partner) gets its own draw.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from cluster.distributions import KINDS, Dist
from cluster.economies import resolve
from cluster.economy import Economy, one_line
from cluster.errors import InputError
from cluster.parameters import MAX_DAYS, MAX_FACTOR, Param, declared, practical_limit
from cluster.timeline import Calendar

__all__ = [
    "DEFAULT_CAPEX_SECTORS",
    "DESIGNS",
    "Adaptation",
    "Config",
    "ConfigError",
    "CounterTrade",
    "DemandShock",
    "Package",
    "Policy",
    "Project",
    "Values",
    "from_dict",
    "load",
    "uncertain_count",
]

DESIGNS = ("monte_carlo", "latin_hypercube", "sobol", "saltelli")
#: What a project's capex buys when its ``capex_sectors`` is not given (if the economy has both sectors).
DEFAULT_CAPEX_SECTORS: Mapping[str, float] = {"construction": 0.6, "machinery": 0.4}
Design = Literal["monte_carlo", "latin_hypercube", "sobol", "saltelli"]


class ConfigError(InputError):
    """A config that cannot be run: names the file, the key, the bad value and what is allowed (one line)."""

    def __init__(self, message: str) -> None:
        super().__init__(one_line(message))


# ------------------------------------------------------------------------------------- config types --
@dataclass(frozen=True)
class Values:
    """The validated values of one table's declared parameters (``cluster.parameters``), by key.

    A ``dist`` or ``probability`` parameter holds a ``Dist`` (None for "forever"), or {label: Dist} when it
    varies over sectors or partners; a ``number`` or ``integer`` parameter holds a float.
    """

    items: Mapping[str, Any]

    def dist(self, key: str) -> Dist | None:
        """A per-scenario distribution (None: "forever")."""
        value = self.items[key]
        assert value is None or isinstance(value, Dist), key
        return value

    def per(self, key: str) -> Mapping[str, Dist]:
        """A distribution per sector or partner."""
        value = self.items[key]
        assert isinstance(value, Mapping), key
        return value

    def number(self, key: str) -> float:
        """A plain number."""
        return float(self.items[key])


@dataclass(frozen=True)
class Package:
    """A sanction package: its name (None for the [sanctions] table itself), its ``package`` values and the
    targets it applies to (``targets``: some of the run's, in the economy's order; all of them by default)."""

    name: str | None
    values: Values
    targets: tuple[str, ...]


@dataclass(frozen=True)
class DemandShock:
    """A change of final demand: its name, the destination regions and the products it applies to, its values."""

    name: str
    regions: tuple[str, ...]
    sectors: tuple[str, ...]
    values: Values


@dataclass(frozen=True)
class Project:
    """An import-substitution project (a lever that policies may include); ``values`` by ``project`` key.

    ``capex_sectors`` are the products its capex buys, {sector: share} summing to 1 (empty when it spends
    nothing and the economy has no default sectors).
    """

    name: str
    region: str
    sector: str
    values: Values
    capex_sectors: Mapping[str, float] = field(default_factory=dict)

    @property
    def signed(self) -> float | None:
        """The day it is signed (None: the first sanction package's onset)."""
        value = self.values.items["signed"]
        return None if value is None else float(value)


@dataclass(frozen=True)
class Adaptation:
    """How markets adapt (``[adaptation]``): the friendly buyers of diverted exports, ``values`` by
    ``adaptation`` key."""

    buyers: tuple[str, ...]
    values: Values


@dataclass(frozen=True)
class CounterTrade:
    """A counter-trade (barter) channel with friendly partners; ``values`` by ``counter_trade`` key."""

    friendly: tuple[str, ...]
    values: Values


@dataclass(frozen=True)
class Policy:
    """A named set of levers, evaluated on the same draws as every other policy."""

    name: str
    counter_trade: CounterTrade | None = None
    projects: tuple[str, ...] = ()
    cooperation: Values = field(default_factory=lambda: Values({p.key: p.default for p in declared("cooperation")}))

    def describe(self) -> str:
        """The levers in a line: counter-trade partners, projects, cooperation."""
        levers = []
        if self.counter_trade is not None:
            levers.append(f"counter-trade with {', '.join(self.counter_trade.friendly)}")
        if self.projects:
            levers.append(f"projects {', '.join(self.projects)}")
        if self.cooperates:
            w, s = self.cooperation.number("weight"), self.cooperation.number("speedup")
            levers.append(f"cooperation (weight {w:g}, speed-up {s:g})")
        return "; ".join(levers) or "no levers"

    @property
    def cooperates(self) -> bool:
        """Whether any cooperation parameter is above its neutral default."""
        return any(self.cooperation.number(p.key) > (p.default or 0.0) for p in declared("cooperation"))


@dataclass(frozen=True)
class Config:
    """A validated scenario config. ``economy`` is loaded; every label is checked against it."""

    path: str
    name: str
    seed: int
    draws: int
    days: int
    design: Design
    batch_size: int | None
    out: str
    start: dt.date | None  # day 0 of the run; None: periods count years from day 0
    trajectories: Literal["weekly"] | None  # weekly paths of real value added in the run folder, or none
    economy_spec: str
    economy: Economy = field(repr=False)
    targets: tuple[str, ...]
    sanctions: Values  # the run-level sanction parameters (premium, substitution)
    packages: tuple[Package, ...]  # the sanction packages, in the config's order
    ario: Values
    prices: Values
    demand: tuple[DemandShock, ...]
    adaptation: Adaptation | None  # None: no [adaptation] table (no diversion, no expansion, no columns)
    projects: dict[str, Project]
    policies: tuple[Policy, ...]
    resolved: dict[str, Any] = field(repr=False)
    document: Mapping[str, Any] = field(repr=False, default_factory=dict)  # the parsed TOML, as given
    base: str = "."  # the folder its relative paths start from

    def with_overrides(self, **overrides: Any) -> Config:
        """The same document validated again with ``overrides`` (draws, seed, days, out, batch_size); earlier
        overrides stay (the document holds them)."""
        return from_dict(self.document, source=self.path, base=Path(self.base), name=self.name, **overrides)

    @property
    def calendar(self) -> Calendar:
        """Days to dates, quarters and years."""
        return Calendar(self.start, self.days)

    @property
    def partners(self) -> tuple[str, ...]:
        """The regions that are not targets (the coalition is drawn among them)."""
        return tuple(r for r in self.economy.regions if r not in self.targets)

    @property
    def config_hash(self) -> str:
        """SHA-256 of the resolved config (what was run, whatever the file's layout)."""
        text = json.dumps(self.resolved, sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()


# ----------------------------------------------------------------------------------------- loading --
class _Ctx:
    """Where we are in the file, for error messages."""

    def __init__(self, path: str) -> None:
        self.path = path

    def fail(self, key: str, value: Any, problem: str) -> ConfigError:
        shown = value if not isinstance(value, dict | list) else json.dumps(_plain(value))
        return ConfigError(f"{self.path}: [{key}] = {shown!r}: {problem}")


def _check_moves_something(
    ctx: _Ctx,
    packages: tuple[Package, ...],
    demand: list[DemandShock],
    prices: Values,
    projects: Mapping[str, Project],
    policies: tuple[Policy, ...],
) -> None:
    """Refuse a config that simulates nothing: no package that can ban any trade (a ban above 0 with a coalition
    partner that may join), no demand shock or world price that can change, no project any policy builds. An
    empty config is one; its run would be thousands of identical draws of the baseline."""

    def can_move(dist: Dist | None) -> bool:
        return dist is not None and dist.bounds() != (0.0, 0.0)

    def bans(package: Package) -> bool:
        v = package.values
        joins = any(d.bounds()[1] > 0 for d in v.per("coalition").values())
        banned = any(d.bounds()[1] > 0 for key in ("import_ban", "export_ban") for d in v.per(key).values())
        return joins and banned

    used = {name for pol in policies for name in pol.projects}
    moving = (
        any(bans(p) for p in packages)
        or any(can_move(d.values.dist("change")) for d in demand)
        or any(can_move(d) for d in prices.per("level").values())
        or any(
            projects[name].values.number(key) > 0 for name in used for key in ("capacity", "capacity_share", "capex")
        )
    )
    if not moving:
        raise ctx.fail(
            "sanctions",
            {},
            "this config simulates nothing: no package bans any trade (import_ban or export_ban above 0, with a "
            "coalition), and no demand shock, world price or project changes the economy; every draw would be the "
            "baseline. Start from configs/smoke.toml",
        )


def _table(ctx: _Ctx, raw: Any, key: str, allowed: tuple[str, ...] | None = None) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise ctx.fail(key, raw, "expected a table")
    if allowed is not None:
        unknown = sorted(set(raw) - set(allowed))
        if unknown:
            raise ctx.fail(
                f"{key}.{unknown[0]}" if key else unknown[0],
                raw[unknown[0]],
                f"unknown key; allowed keys are {', '.join(allowed)}",
            )
    return raw


def _number(ctx: _Ctx, raw: Any, key: str, low: float = -math.inf, high: float = math.inf) -> float:
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        raise ctx.fail(key, raw, "expected a number")
    if isinstance(raw, int) and abs(raw) > 2**1000:  # beyond any float (a TOML integer has no size limit)
        raise ctx.fail(key, raw, f"too large a number; it must lie in [{low}, {high}]")
    if not math.isfinite(raw):
        raise ctx.fail(key, raw, "expected a number")
    if not low <= raw <= high:
        raise ctx.fail(key, raw, f"must lie in [{low}, {high}]")
    return float(raw)


def _integer(ctx: _Ctx, raw: Any, key: str, low: int = 0, high: float = math.inf) -> int:
    if isinstance(raw, bool) or not isinstance(raw, int):
        raise ctx.fail(key, raw, "expected a whole number")
    if raw < low:
        raise ctx.fail(key, raw, f"must be >= {low}")
    if raw > high:
        raise ctx.fail(key, raw, f"must be <= {high:g}")
    return int(raw)


def _dist(ctx: _Ctx, raw: Any, key: str, low: float = -math.inf, high: float = math.inf) -> Dist:
    """A distribution whose every value lies in [low, high]."""
    kinds = "a number, or a table with one of uniform, triangular, beta, lognormal, bernoulli, categorical"
    if isinstance(raw, bool):
        raise ctx.fail(key, raw, f"expected {kinds}")
    if isinstance(raw, int | float):
        d = Dist("fixed", (_number(ctx, raw, key),))
    elif isinstance(raw, dict):
        kind = [k for k in raw if k not in ("low", "high")]
        if len(kind) != 1:
            raise ctx.fail(key, raw, f"expected {kinds}")
        d = _dist_table(ctx, raw, key, kind[0])
    else:
        raise ctx.fail(key, raw, f"expected {kinds}")
    if d.kind == "lognormal":  # an unbounded tail: the median must be allowed, draws are clipped
        if not low <= d.params[0] <= high:
            raise ctx.fail(key, raw, f"the median must lie in [{low}, {high}]")
        return Dist(d.kind, d.params, d.values, (low, high))
    lo, hi = d.bounds()
    if lo < low or hi > high:
        raise ctx.fail(key, raw, f"values must lie in [{low}, {high}], this distribution spans [{lo}, {hi}]")
    return d


def _pair(ctx: _Ctx, raw: Any, key: str, n: int) -> list[float]:
    if not isinstance(raw, list) or len(raw) != n:
        raise ctx.fail(key, raw, f"expected a list of {n} numbers")
    return [_number(ctx, v, key) for v in raw]


def _dist_table(ctx: _Ctx, raw: dict[str, Any], key: str, kind: str) -> Dist:
    arg = raw[kind]
    k = f"{key}.{kind}"
    if kind != "beta" and ("low" in raw or "high" in raw):
        raise ctx.fail(key, raw, "low/high scale only a beta distribution")
    if kind == "uniform":
        a, b = _pair(ctx, arg, k, 2)
        if a > b:
            raise ctx.fail(k, arg, "needs low <= high")
        return Dist("uniform", (a, b))
    if kind == "triangular":
        a, m, b = _pair(ctx, arg, k, 3)
        if not a <= m <= b:
            raise ctx.fail(k, arg, "needs low <= mode <= high")
        return Dist("triangular", (a, m, b))
    if kind == "beta":
        a, b = _pair(ctx, arg, k, 2)
        if a <= 0 or b <= 0:
            raise ctx.fail(k, arg, "shape parameters must be > 0")
        low = _number(ctx, raw.get("low", 0.0), f"{key}.low")
        high = _number(ctx, raw.get("high", 1.0), f"{key}.high")
        if low >= high:
            raise ctx.fail(key, raw, "needs low < high")
        return Dist("beta", (a, b, low, high))
    if kind == "lognormal":
        t = _table(ctx, arg, k, ("median", "sigma"))
        if set(t) != {"median", "sigma"}:
            raise ctx.fail(k, arg, "needs median and sigma")
        median = _number(ctx, t["median"], f"{k}.median")
        sigma = _number(ctx, t["sigma"], f"{k}.sigma")
        if median <= 0 or sigma < 0:
            raise ctx.fail(k, arg, "needs median > 0 and sigma >= 0")
        if sigma > _MAX_SIGMA:  # its tails overflow a float
            raise ctx.fail(f"{k}.sigma", sigma, f"must be <= {_MAX_SIGMA:g}: the draws reach median x e^(8.3 sigma)")
        return Dist("lognormal", (median, sigma))
    if kind == "bernoulli":
        return Dist("bernoulli", (_number(ctx, arg, k, 0.0, 1.0),))
    if kind == "categorical":
        t = _table(ctx, arg, k, ("values", "weights"))
        values = t.get("values")
        if not isinstance(values, list) or not values:
            raise ctx.fail(f"{k}.values", values, "expected a non-empty list of numbers")
        vals = [_number(ctx, v, f"{k}.values") for v in values]
        weights = t.get("weights", [1.0] * len(vals))
        if not isinstance(weights, list) or len(weights) != len(vals):
            raise ctx.fail(f"{k}.weights", weights, f"expected {len(vals)} weights, one per value")
        w = [_number(ctx, v, f"{k}.weights", 0.0) for v in weights]
        if sum(w) <= 0:
            raise ctx.fail(f"{k}.weights", weights, "weights must not all be 0")
        if not math.isfinite(sum(w)):
            raise ctx.fail(f"{k}.weights", weights, "the weights overflow when summed; scale them down")
        return Dist("categorical", tuple(w), tuple(vals))
    raise ctx.fail(
        key, raw, f"unknown distribution {kind!r}; use uniform, triangular, beta, lognormal, bernoulli or categorical"
    )


def _per_label(
    ctx: _Ctx, raw: Any, key: str, labels: tuple[str, ...], what: str, default: float, low: float, high: float
) -> dict[str, Dist]:
    """A per-sector (per-region) table -> {label: Dist}, with ``default`` for unlisted labels."""
    if raw is None:
        raw = {}
    if not isinstance(raw, dict) or _looks_like_dist(raw):
        base = _dist(ctx, raw, key, low, high)
        return dict.fromkeys(labels, base)
    unknown = sorted(set(raw) - set(labels) - {"default"})
    if unknown:
        hint = "a distribution is one of uniform, triangular, beta, lognormal, bernoulli, categorical"
        known = ", ".join(labels)
        raise ctx.fail(
            f"{key}.{unknown[0]}",
            raw[unknown[0]],
            f"unknown {what}; the economy's {what}s are {known} (or 'default'); {hint}",
        )
    base = _dist(ctx, raw.get("default", default), f"{key}.default", low, high)
    return {lab: _dist(ctx, raw[lab], f"{key}.{lab}", low, high) if lab in raw else base for lab in labels}


def _looks_like_dist(raw: dict[str, Any]) -> bool:
    keys = set(raw) - {"low", "high"}
    return bool(keys) and keys <= set(KINDS)


def _date(ctx: _Ctx, raw: Any, key: str) -> dt.date:
    """A date: a TOML date (``2022-01-01``) or the same as a string."""
    if isinstance(raw, dt.datetime):
        raise ctx.fail(key, raw.isoformat(), "expected a date without a time, e.g. 2022-01-01")
    if isinstance(raw, dt.date):
        return raw
    if isinstance(raw, str):
        try:
            return dt.date.fromisoformat(raw)
        except ValueError:
            pass
    raise ctx.fail(key, raw, "expected a date, e.g. 2022-01-01")


def _plain(value: Any) -> Any:
    """``value`` with its TOML dates and times as ISO strings, so that it is plain JSON."""
    if isinstance(value, dt.date | dt.datetime | dt.time):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _day(ctx: _Ctx, raw: Any, key: str, start: dt.date | None) -> Any:
    """A day given as a date (a TOML date or an ISO string) -> its number of days from ``start``; else ``raw``."""
    if isinstance(raw, dt.date) or (isinstance(raw, str) and raw[:1].isdigit()):
        when = _date(ctx, raw, key)
        if start is None:
            raise ctx.fail(key, str(raw), "a date needs [run] start (the date of day 0), e.g. start = 2022-01-01")
        return (when - start).days
    return raw


def _dated(ctx: _Ctx, raw: Mapping[str, Any], where: str, start: dt.date | None, days: int) -> dict[str, Any]:
    """A package's table with its dates turned into days, and ``end`` into a duration."""
    out = dict(raw)
    if "onset" in out:
        out["onset"] = _day(ctx, out["onset"], f"{where}.onset", start)
    if "end" in out:
        end = _day(ctx, out.pop("end"), f"{where}.end", start)
        if "duration" in raw:
            raise ctx.fail(f"{where}.end", str(raw["end"]), "give end or duration, not both")
        if isinstance(end, bool) or not isinstance(end, int):
            raise ctx.fail(f"{where}.end", end, "expected a day (a whole number) or a date")
        onset = out.get("onset", 0)
        if isinstance(onset, bool) or not isinstance(onset, int | float):
            raise ctx.fail(f"{where}.end", end, "an end needs a fixed onset; with an uncertain onset give a duration")
        if end <= onset:
            raise ctx.fail(f"{where}.end", str(raw["end"]), f"must come after the onset (day {onset:g})")
        out["duration"] = end - onset
    return out


def _regions_or_countries(ctx: _Ctx, raw: Any, key: str, economy: Economy) -> tuple[str, ...]:
    """Region labels, a country code standing for all its regions."""
    if not isinstance(raw, list) or not raw or not all(isinstance(v, str) for v in raw):
        raise ctx.fail(key, raw, "expected a list of region labels or country codes")
    out: list[str] = []
    for v in raw:
        if v in economy.regions:
            out.append(v)
        elif v in economy.country:
            out += [r for r, c in zip(economy.regions, economy.country, strict=True) if c == v]
        else:
            known = f"regions {', '.join(economy.regions)}; countries {', '.join(dict.fromkeys(economy.country))}"
            raise ctx.fail(key, v, f"unknown region or country; the economy has {known}")
    return tuple(dict.fromkeys(out))


def _package_targets(ctx: _Ctx, raw: Any, key: str, economy: Economy, targets: tuple[str, ...]) -> tuple[str, ...]:
    """A package's ``targets``: region labels or country codes, each standing only for targets of the run; the
    regions in the economy's order."""
    run = f"the run's targets are {', '.join(targets)} ([economy] targets)"
    if isinstance(raw, list) and not raw:
        raise ctx.fail(
            key, raw, f"an empty list sanctions no one; name target regions or countries, or drop the key ({run})"
        )
    named = set(_regions_or_countries(ctx, raw, key, economy))
    for v in raw:
        outside = [r for r in _regions_or_countries(ctx, [v], key, economy) if r not in targets]
        if outside:
            what = (
                f"region {v} is not" if v in economy.regions else f"country {v} has regions ({', '.join(outside)}) not"
            )
            raise ctx.fail(key, v, f"{what} among the run's targets; a package applies only to targets: {run}")
    return tuple(r for r in economy.regions if r in named)


def _regions(ctx: _Ctx, raw: Any, key: str, economy: Economy) -> tuple[str, ...]:
    if not isinstance(raw, list) or not all(isinstance(v, str) for v in raw):
        raise ctx.fail(key, raw, "expected a list of region labels")
    unknown = [v for v in raw if v not in economy.regions]
    if unknown:
        raise ctx.fail(key, unknown[0], f"unknown region; the economy's regions are {', '.join(economy.regions)}")
    return tuple(raw)


def _values(
    ctx: _Ctx,
    raw: Mapping[str, Any],
    where: str,
    section: str,
    *,
    labels: Mapping[str, tuple[str, ...]],
    days: int,
    tags: Mapping[str, Mapping[str, float]],
    start: dt.date | None = None,
    horizon: bool = True,
) -> Values:
    """Every declared parameter of ``section`` read from the table ``raw`` at ``where``; a parameter whose unit is
    a day may be given as a date (counted from ``start``). ``horizon=False`` lets a day lie past the horizon."""
    out: dict[str, Any] = {}
    dated = dict(raw)
    for p in declared(section):
        if p.unit == "day" and p.key in dated:
            dated[p.key] = _day(ctx, dated[p.key], f"{where}.{p.key}", start)
        out[p.key] = _value(ctx, p, dated, f"{where}.{p.key}", labels, days if horizon else 2**62, tags)
    return Values(out)


def _value(
    ctx: _Ctx,
    p: Param,
    raw: Mapping[str, Any],
    key: str,
    labels: Mapping[str, tuple[str, ...]],
    days: int,
    tags: Mapping[str, Mapping[str, float]],
) -> Any:
    """One parameter within its declared bounds, then within the practical limit (``parameters.practical_limit``)."""
    value = _declared(ctx, p, raw, key, labels, days, tags)
    limit = practical_limit(p)
    if value is None or limit == math.inf:
        return value
    what = f"at most {MAX_DAYS:,} days (about 274 years)" if limit == MAX_DAYS else f"at most {limit:g}"
    problem = f"{what}: larger values overflow the model's {'day counts' if p.unit != 'years' else 'days'}"
    if limit == MAX_FACTOR:
        problem = f"{what}: larger factors overflow the model's flows"

    given = raw.get(p.key)

    def capped(d: Dist, label: str | None = None) -> Dist:
        k, shown = key, given  # the key as written: a label's own entry, the default, or the whole value
        if label is not None and isinstance(given, dict) and not _looks_like_dist(given):
            entry = label if label in given else "default"
            k, shown = f"{key}.{entry}", given.get(entry)
        if d.kind == "lognormal":  # its median was checked; its draws are clipped to the limit
            if d.params[0] > limit:
                raise ctx.fail(k, shown, f"the median must be {problem}")
            low, high = d.clip or (p.low, math.inf)
            return Dist(d.kind, d.params, d.values, (low, min(high, limit)))
        if d.bounds()[1] > limit:
            raise ctx.fail(k, shown, problem)
        return d

    if isinstance(value, float):
        if value > limit:
            raise ctx.fail(key, given, problem)
        return value
    if isinstance(value, Dist):
        return capped(value)
    return {lab: capped(d, lab) for lab, d in value.items()}


def _declared(
    ctx: _Ctx,
    p: Param,
    raw: Mapping[str, Any],
    key: str,
    labels: Mapping[str, tuple[str, ...]],
    days: int,
    tags: Mapping[str, Mapping[str, float]],
) -> Any:
    """One parameter within its declared bounds."""
    if p.optional and p.key not in raw:
        return None
    high = days - 1 if p.within_horizon else p.high
    low = p.low
    if p.kind == "probability":  # whatever the declaration says, a probability lies in [0, 1]
        low, high = max(low, 0.0), min(high, 1.0)
    default = 0.0 if p.default is None else p.default
    if p.kind == "integer":
        return float(_integer(ctx, raw.get(p.key, int(default)), key, int(low)))
    if p.kind == "number":
        return _number(ctx, raw.get(p.key, default), key, low, high)
    if p.over == "scenario":
        if p.forever and raw.get(p.key, "forever") == "forever":
            return None
        d = _dist(ctx, raw.get(p.key, default), key, low, high)
        return _probability(ctx, d, key) if p.kind == "probability" else d
    names = labels[p.over]
    if p.tag_default is not None and p.key not in raw:
        table = {lab: Dist("fixed", (tags[p.tag_default][lab],)) for lab in names}
    else:
        table = _per_label(ctx, raw.get(p.key), key, names, p.over, default, low, high)
    if p.kind == "probability":
        table = {lab: _probability(ctx, d, f"{key}.{lab}") for lab, d in table.items()}
    return table


#: The largest sigma of a lognormal: its draws reach median x e^(8.3 sigma), which must stay a float.
_MAX_SIGMA = 20.0


def _keys(section: str, *structural: str) -> tuple[str, ...]:
    return (*structural, *(p.key for p in declared(section)))


_TOP = ("run", "economy", "sanctions", "ario", "projects", "policies", "prices", "demand", "adaptation", "output")
_OUTPUT = ("trajectories",)
#: What ``[output] trajectories`` takes: weekly paths of real value added, or none (the default).
TRAJECTORIES = ("none", "weekly")
_RUN = ("name", "seed", "draws", "days", "design", "batch_size", "out", "start")
_ECONOMY = ("id", "path", "kind", "concordance", "domestic", "targets")
_POLICY = ("counter_trade", "projects", "cooperation", "include")
#: A package's keys: its declared parameters, ``end`` (a day or a date; turned into a duration) and ``targets``
#: (the run's targets it applies to).
_PACKAGE = (*(p.key for p in declared("package")), "end", "targets")
#: The package keys that [sanctions] gives its packages as defaults (not those that are [sanctions]'s own too).
_INHERITED = tuple(k for k in _PACKAGE if k not in _keys("sanctions"))


def load(path: str | os.PathLike[str], **overrides: Any) -> Config:
    """Read and validate a config file; ``overrides`` (draws, seed, days, out, batch_size) win over the file."""
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such config file") from None
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(f"{path}: cannot read the config: {err}") from err
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{path}: not valid TOML: {err}") from err
    return from_dict(raw, source=str(path), base=path.parent, name=path.stem, **overrides)


def from_dict(raw: Mapping[str, Any], *, source: str, base: Path, name: str, **overrides: Any) -> Config:
    """Validate a config given as a parsed TOML document.

    ``source`` names it in error messages, ``base`` is the folder relative paths start from, ``name`` the run
    name when ``[run] name`` is absent.
    """
    ctx = _Ctx(source)
    _table(ctx, raw, "", _TOP)
    run = dict(_table(ctx, raw.get("run", {}), "run", _RUN))
    for key, value in overrides.items():
        if value is not None:
            run[key] = value
    name = run.get("name", name)
    if not isinstance(name, str) or not name:
        raise ctx.fail("run.name", name, "expected a non-empty string")
    seed = _integer(ctx, run.get("seed", 0), "run.seed")
    draws = _integer(ctx, run.get("draws", 100), "run.draws", 1)
    days = _integer(ctx, run.get("days", 365), "run.days", 1, MAX_DAYS)
    design = run.get("design", "monte_carlo")
    if design not in DESIGNS:
        raise ctx.fail("run.design", design, f"unknown design; use one of {', '.join(DESIGNS)}")
    if design == "sobol" and draws & (draws - 1):
        raise ctx.fail("run.draws", draws, "a Sobol design needs a power of 2 draws (e.g. 512, 1024)")
    batch = run.get("batch_size")
    batch_size = None if batch in (None, 0) else _integer(ctx, batch, "run.batch_size", 1)
    out = run.get("out", f"runs/{name}")
    if not isinstance(out, str) or not out:
        raise ctx.fail("run.out", out, "expected a path")
    start = _date(ctx, run["start"], "run.start") if "start" in run else None
    if start is not None and (dt.date.max - start).days < days:
        raise ctx.fail("run.start", start.isoformat(), f"the horizon of {days} days runs past the year 9999")
    output = _table(ctx, raw.get("output", {}), "output", _OUTPUT)
    trajectories = output.get("trajectories", "none")
    if trajectories not in TRAJECTORIES:
        raise ctx.fail("output.trajectories", trajectories, f"expected one of {', '.join(TRAJECTORIES)}")

    eco_raw = _table(ctx, raw.get("economy", {}), "economy", _ECONOMY)
    if "id" in eco_raw and "path" in eco_raw:
        raise ctx.fail("economy", eco_raw, "give either id or path, not both")
    for key in ("id", "path", "kind", "concordance"):
        if key in eco_raw and (not isinstance(eco_raw[key], str) or not eco_raw[key] or "\x00" in eco_raw[key]):
            what = "an embedded economy id (shock economies lists them)" if key == "id" else "a non-empty string"
            raise ctx.fail(f"economy.{key}", eco_raw[key], f"expected {what}")
    spec = eco_raw.get("id", eco_raw.get("path", "ru-by"))
    if "path" in eco_raw and not Path(spec).is_absolute():
        spec = str((base / spec).resolve())
    concordance = eco_raw.get("concordance")
    if concordance is not None and not Path(concordance).is_absolute():
        concordance = str((base / concordance).resolve())
    domestic = eco_raw.get("domestic")
    if domestic is not None and (not isinstance(domestic, list) or not all(isinstance(v, str) for v in domestic)):
        raise ctx.fail("economy.domestic", domestic, "expected a list of region labels")
    kind = eco_raw.get("kind", "auto")
    try:
        economy = resolve(spec, kind=kind, concordance=concordance, domestic=domestic)
    except InputError as err:
        raise ConfigError(f"{source}: [economy]: {err}") from err
    targets = tuple(r for r, d in zip(economy.regions, economy.domestic, strict=True) if d)
    if "targets" in eco_raw:
        targets = _regions(ctx, eco_raw["targets"], "economy.targets", economy)
    if not targets:
        raise ctx.fail("economy.targets", list(targets), "no target region: name them or tag domestic regions")

    partners = tuple(r for r in economy.regions if r not in targets)
    labels = {"sector": economy.sectors, "partner": partners}
    tags = {"coalition": {r: float(c) for r, c in zip(economy.regions, economy.coalition, strict=True)}}
    sec = _table(
        ctx, raw.get("sanctions", {}), "sanctions", tuple(dict.fromkeys((*_keys("sanctions"), *_PACKAGE, "packages")))
    )
    sanctions = _values(ctx, sec, "sanctions", "sanctions", labels=labels, days=days, tags=tags, start=start)

    def package(name: str | None, table: Mapping[str, Any], where: str) -> Package:
        # A named package may start after the horizon (a later phase of a shortened run): it then never acts.
        # The [sanctions] table's own package must start within it, or the run simulates nothing.
        dated = _dated(ctx, table, where, start, days)
        own = targets  # by default, every target of the run
        if "targets" in dated:
            own = _package_targets(ctx, dated.pop("targets"), f"{where}.targets", economy, targets)
        values = _values(
            ctx, dated, where, "package", labels=labels, days=days, tags=tags, start=start, horizon=name is None
        )
        return Package(name, values, own)

    defaults = {k: sec[k] for k in _INHERITED if k in sec}
    first = package(None, defaults, "sanctions")  # the [sanctions] table's own package keys, checked where written
    if "packages" not in sec:
        packages: tuple[Package, ...] = (first,)
    else:
        named = _table(ctx, sec["packages"], "sanctions.packages")
        if not named:
            raise ctx.fail("sanctions.packages", named, "name at least one package, e.g. [sanctions.packages.first]")
        packages = tuple(
            package(
                str(n), {**defaults, **_table(ctx, t, f"sanctions.packages.{n}", _PACKAGE)}, f"sanctions.packages.{n}"
            )
            for n, t in named.items()
        )
    ario_raw = _table(ctx, raw.get("ario", {}), "ario", _keys("ario"))
    ario = _values(ctx, ario_raw, "ario", "ario", labels=labels, days=days, tags=tags, start=start)
    prices_raw = _table(ctx, raw.get("prices", {}), "prices", _keys("prices"))
    prices = _values(ctx, prices_raw, "prices", "prices", labels=labels, days=days, tags=tags, start=start)
    demand: list[DemandShock] = []
    for dname, draw in _table(ctx, raw.get("demand", {}), "demand").items():
        where = f"demand.{dname}"
        d = _dated(ctx, _table(ctx, draw, where, _keys("demand", "regions", "sectors", "end")), where, start, days)
        regions = _regions_or_countries(ctx, d.pop("regions", list(targets)), f"{where}.regions", economy)
        sectors = d.pop("sectors", list(economy.sectors))
        if not isinstance(sectors, list) or not sectors or any(k not in economy.sectors for k in sectors):
            bad = sectors if not isinstance(sectors, list) else [k for k in sectors if k not in economy.sectors]
            raise ctx.fail(
                f"{where}.sectors", bad, f"expected a list of the economy's sectors: {', '.join(economy.sectors)}"
            )
        change = _values(ctx, d, where, "demand", labels=labels, days=days, tags=tags, start=start, horizon=False)
        demand.append(DemandShock(str(dname), regions, tuple(sectors), change))
    adaptation = None
    if "adaptation" in raw:
        ad_raw = _table(ctx, raw["adaptation"], "adaptation", _keys("adaptation", "buyers"))
        default_buyers = [r for r, f in zip(economy.regions, economy.friendly, strict=True) if f and r not in targets]
        buyers = _regions(ctx, ad_raw.get("buyers", default_buyers), "adaptation.buyers", economy)
        if bad_buyers := [r for r in buyers if r in targets]:
            raise ctx.fail(
                "adaptation.buyers",
                bad_buyers[0],
                f"a target region cannot be a friendly buyer of the targets' exports; name regions that are not"
                f" targets ({', '.join(targets)})",
            )
        ad_values = _values(ctx, ad_raw, "adaptation", "adaptation", labels=labels, days=days, tags=tags, start=start)
        adaptation = Adaptation(tuple(dict.fromkeys(buyers)), ad_values)
    psi, inv = ario.dist("psi"), ario.dist("inventory_days")
    assert psi is not None
    assert inv is not None
    if psi.bounds()[0] * inv.bounds()[0] < 1:
        raise ctx.fail(
            "ario.inventory_days",
            ario_raw.get("inventory_days", 90),
            "psi x inventory_days must stay >= 1 (at least a day of use in stock)",
        )

    def values(table: Mapping[str, Any], where: str, section: str) -> Values:
        return _values(ctx, table, where, section, labels=labels, days=days, tags=tags, start=start)

    projects: dict[str, Project] = {}
    for pname, praw in _table(ctx, raw.get("projects", {}), "projects").items():
        key = f"projects.{pname}"
        p = _table(ctx, praw, key, _keys("project", "region", "sector", "capex_sectors"))
        region = p.get("region")
        if region not in economy.regions:
            raise ctx.fail(
                f"{key}.region", region, f"unknown region; the economy's regions are {', '.join(economy.regions)}"
            )
        sector = p.get("sector")
        if sector not in economy.sectors:
            raise ctx.fail(
                f"{key}.sector", sector, f"unknown sector; the economy's sectors are {', '.join(economy.sectors)}"
            )
        if ("capacity" in p) == ("capacity_share" in p):
            raise ctx.fail(key, p, "give exactly one of capacity (per year) or capacity_share (of baseline output)")
        pv = _values(ctx, p, key, "project", labels=labels, days=days, tags=tags, start=start, horizon=False)
        for money in ("capacity", "capex"):  # in the economy's unit: a unit mistake overflows the core's flows
            if pv.number(money) > MAX_FACTOR * float(economy.x.sum()):
                raise ctx.fail(
                    f"{key}.{money}",
                    p[money],
                    f"more than {MAX_FACTOR:g} times the economy's whole annual output ({economy.x.sum():,.6g} "
                    f"{economy.unit}); check the unit",
                )
        mix = _capex_sectors(ctx, p, key, economy, region, pv.number("capex"))
        projects[pname] = Project(pname, region, sector, pv, mix)

    pol_raw = _table(ctx, raw.get("policies", {"status_quo": {}}), "policies")
    if not pol_raw:
        raise ctx.fail("policies", pol_raw, "name at least one policy, e.g. [policies.status_quo]")
    policies = tuple(_policy(ctx, n, pol_raw, projects, economy, targets, values, set()) for n in pol_raw)
    _check_moves_something(ctx, packages, demand, prices, projects, policies)
    resolved = {
        "run": {
            "name": name,
            "seed": seed,
            "draws": draws,
            "days": days,
            "design": design,
            "batch_size": batch_size,
            "out": out,
        },
        "economy": {"spec": str(spec), "id": economy.id, "targets": list(targets)},
        "sanctions": dict(sec),
        "ario": ario_raw,
        "projects": raw.get("projects", {}),
        "policies": pol_raw,
    }
    if start is not None:  # only when given: the hash of a config without one stays what it was
        resolved["run"]["start"] = start.isoformat()
    if output:
        resolved["output"] = dict(output)
    if prices_raw:
        resolved["prices"] = dict(prices_raw)
    if raw.get("demand"):
        resolved["demand"] = raw["demand"]
    if "adaptation" in raw:  # only when given, as [prices]
        resolved["adaptation"] = dict(raw["adaptation"])
    resolved = _plain(resolved)  # JSON as it is: the manifest records it, the config hash is taken of it
    config = Config(
        path=source,
        name=name,
        seed=seed,
        draws=draws,
        days=days,
        design=design,
        batch_size=batch_size,
        out=out,
        start=start,
        trajectories=None if trajectories == "none" else "weekly",
        economy_spec=str(spec),
        economy=economy,
        targets=targets,
        sanctions=sanctions,
        packages=packages,
        ario=ario,
        prices=prices,
        demand=tuple(demand),
        adaptation=adaptation,
        projects=projects,
        policies=policies,
        resolved=resolved,
        document={**raw, "run": run} if any(v is not None for v in overrides.values()) else raw,
        base=str(base),
    )
    if design == "saltelli":
        _check_saltelli(ctx, config)
    return config


def _check_saltelli(ctx: _Ctx, config: Config) -> None:
    """A Saltelli design has N x (D + 2) draws, N a power of 2 and D the uncertain parameters (SALib's layout
    without second-order indices); else the error names the nearest valid counts."""
    d, draws = uncertain_count(config), config.draws
    if d == 0:
        raise ctx.fail("run.design", "saltelli", "a Saltelli design needs uncertain parameters; this config has none")
    base, rest = divmod(draws, d + 2)
    if rest == 0 and base & (base - 1) == 0:
        return
    below = 1 << (base.bit_length() - 1) if base else 0  # the largest power of 2 at most N; then the next one
    above = 2 * below or 1
    options = [f"{n * (d + 2)} (N = {n})" for n in (below, above) if n]
    raise ctx.fail(
        "run.draws",
        draws,
        f"a Saltelli design needs N x (D+2) draws with N a power of 2, and D = {d} uncertain parameters: "
        f"use {' or '.join(options)}",
    )


def uncertain_count(config: Config) -> int:
    """The uncertain parameters of a config: the dimension of its design (``plan.dimension``, which a test checks
    against ``Plan.uncertain``). It walks the recorded parameters as ``plan`` lays out their columns."""

    def count(params: list[Param], values: Values | None) -> int:
        if values is None:
            return 0
        n = 0
        for p in params:
            dist = values.items.get(p.key)
            dists = dist.values() if isinstance(dist, dict) else [dist]
            n += sum(1 for d in dists if isinstance(d, Dist) and d.uncertain)
        return n

    def recorded(section: str) -> list[Param]:
        return [p for p in declared(section) if p.recorded]

    total = sum(count(recorded("package"), package.values) for package in config.packages)
    total += count(recorded("sanctions"), config.sanctions) + count(recorded("ario"), config.ario)
    total += sum(count(recorded("project"), proj.values) for proj in config.projects.values())
    total += sum(
        count(recorded("counter_trade"), pol.counter_trade.values)
        for pol in config.policies
        if pol.counter_trade is not None
    )
    total += count(recorded("prices"), config.prices)
    total += sum(count(recorded("demand"), shock.values) for shock in config.demand)
    if config.adaptation is not None:
        total += count(recorded("adaptation"), config.adaptation.values)
    return total


def _capex_sectors(
    ctx: _Ctx, raw: Mapping[str, Any], key: str, economy: Economy, region: str, capex: float
) -> dict[str, float]:
    """A project's ``capex_sectors``: {sector: share > 0}, summing to 1, each a product its region has baseline
    final demand for (the core spends capex as the region's final demand, split over origins like it)."""
    where = f"{key}.capex_sectors"
    given = "capex_sectors" in raw
    if not given:
        if not all(k in economy.sectors for k in DEFAULT_CAPEX_SECTORS):
            if capex > 0:
                raise ctx.fail(
                    where,
                    "absent",
                    f"a project with capex needs capex_sectors = {{sector = share, ...}} (shares summing to 1):"
                    f" the economy lacks the default sectors {', '.join(DEFAULT_CAPEX_SECTORS)}; its sectors are"
                    f" {', '.join(economy.sectors)}",
                )
            return {}
        mix = dict(DEFAULT_CAPEX_SECTORS)
    else:
        table = raw["capex_sectors"]
        if not isinstance(table, dict) or not table:
            raise ctx.fail(where, table, "expected a table {sector = share, ...} of shares > 0 summing to 1")
        mix = {}
        for k, share in table.items():
            if k not in economy.sectors:
                raise ctx.fail(
                    where, table, f"unknown sector {k!r}; the economy's sectors are {', '.join(economy.sectors)}"
                )
            if isinstance(share, bool) or not isinstance(share, int | float) or not math.isfinite(share) or share <= 0:
                raise ctx.fail(where, table, f"the share of {k} must be a number > 0 (the shares sum to 1)")
            mix[str(k)] = float(share)
        total = math.fsum(mix.values())
        if abs(total - 1.0) > 1e-9:
            raise ctx.fail(where, table, f"the shares sum to {total:.12g}; they must sum to 1")
    if given or capex > 0:
        r, s = len(economy.regions), len(economy.sectors)
        y = economy.y.reshape(r, s, r, -1).sum(axis=3)  # annual final demand [origin, product, destination]
        d = economy.regions.index(region)
        for k in mix:
            if not y[:, economy.sectors.index(k), d].sum() > 0:
                raise ctx.fail(
                    where,
                    raw.get("capex_sectors", mix),
                    f"region {region} has no baseline final demand for {k}, and the capex is spent as its final"
                    " demand (split over origins like it); give capex_sectors naming products the region buys",
                )
    return mix


def _probability(ctx: _Ctx, d: Dist, key: str) -> Dist:
    """A probability p in [0, 1] as the 0/1 event it governs (fixed when p is 0 or 1)."""
    if d.kind == "bernoulli":
        return d
    if d.kind != "fixed":
        raise ctx.fail(key, d.kind, "expected a probability: a number in [0, 1] or {bernoulli = p}")
    p = d.params[0]
    return Dist("fixed", (p,)) if p in (0.0, 1.0) else Dist("bernoulli", (p,))


def _policy(
    ctx: _Ctx,
    name: str,
    table: Mapping[str, Any],
    projects: dict[str, Project],
    economy: Economy,
    targets: tuple[str, ...],
    values: Any,
    seen: set[str],
) -> Policy:
    key = f"policies.{name}"
    if name in seen:
        raise ctx.fail(f"{key}.include", name, "policies include each other in a circle")
    raw = _table(ctx, table[name], key, _POLICY)
    pol = Policy(name=name)
    for entry in ("include", "projects"):
        listed = raw.get(entry, [])
        if not isinstance(listed, list) or not all(isinstance(v, str) for v in listed):
            what = "policy" if entry == "include" else "project"
            raise ctx.fail(f"{key}.{entry}", listed, f"expected a list of {what} names")
    for other in raw.get("include", []):
        if other not in table:
            raise ctx.fail(f"{key}.include", other, f"unknown policy; the policies are {', '.join(table)}")
        sub = _policy(ctx, other, table, projects, economy, targets, values, seen | {name})
        merged = {
            p.key: max(pol.cooperation.number(p.key), sub.cooperation.number(p.key)) for p in declared("cooperation")
        }
        pol = Policy(
            name,
            sub.counter_trade or pol.counter_trade,
            tuple(dict.fromkeys(pol.projects + sub.projects)),
            Values(merged),
        )
    names = raw.get("projects", [])
    for pn in names:
        if pn not in projects:
            known = ", ".join(projects) or "none defined"
            raise ctx.fail(f"{key}.projects", pn, f"unknown project; define it under [projects.{pn}] ({known})")
    counter = pol.counter_trade
    if "counter_trade" in raw:
        k2 = f"{key}.counter_trade"
        c = _table(ctx, raw["counter_trade"], k2, _keys("counter_trade", "friendly"))
        default_friendly = [r for r, f in zip(economy.regions, economy.friendly, strict=True) if f and r not in targets]
        friendly = _regions(ctx, c.get("friendly", default_friendly), f"{k2}.friendly", economy)
        bad = [r for r in friendly if r in targets]
        if bad:
            raise ctx.fail(f"{k2}.friendly", bad[0], "a target region cannot be a friendly partner")
        counter = CounterTrade(friendly, values(c, k2, "counter_trade"))
    coop = pol.cooperation
    if "cooperation" in raw:
        k3 = f"{key}.cooperation"
        coop = values(_table(ctx, raw["cooperation"], k3, _keys("cooperation")), k3, "cooperation")
    return Policy(name, counter, tuple(dict.fromkeys(pol.projects + tuple(names))), coop)
