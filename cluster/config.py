"""Scenario configs: TOML -> typed, frozen objects, validated once, with errors naming file, key and fix.

A config (see ``configs/*.toml`` and the README) has the sections ``[run]``, ``[economy]``, ``[sanctions]``,
``[ario]`` (optional), ``[projects.NAME]`` (optional) and ``[policies.NAME]``. Every number that may be
uncertain takes a *distribution*:

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

import hashlib
import json
import math
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from cluster.economy import Economy
from cluster.errors import InputError
from cluster.loaders import resolve

__all__ = ["DESIGNS", "Config", "ConfigError", "Counter", "Dist", "Policy", "Project", "load"]

F64 = NDArray[np.float64]
DESIGNS = ("monte_carlo", "latin_hypercube", "sobol")
Design = Literal["monte_carlo", "latin_hypercube", "sobol"]


class ConfigError(InputError):
    """A config that cannot be run: names the file, the key, the bad value and what is allowed."""


# ------------------------------------------------------------------------------------ distributions --
@dataclass(frozen=True)
class Dist:
    """A distribution of one scalar; ``ppf`` maps uniforms in [0, 1) to values (inverse CDF)."""

    kind: str
    params: tuple[float, ...]
    values: tuple[float, ...] = ()
    clip: tuple[float, float] | None = None  # lognormal draws are clipped to the key's allowed range

    @property
    def uncertain(self) -> bool:
        """False for a fixed value (and for degenerate ranges): it takes no dimension of the design."""
        if self.kind == "fixed":
            return False
        if self.kind in ("uniform", "triangular"):
            return self.params[0] != self.params[-1]
        if self.kind == "bernoulli":
            return 0.0 < self.params[0] < 1.0
        if self.kind == "lognormal":
            return self.params[1] > 0
        if self.kind == "categorical":
            return len(set(self.values)) > 1
        return True

    def fixed_value(self) -> float:
        """The value of a distribution that is not uncertain."""
        return float(self.ppf(np.array([0.5]))[0])

    def ppf(self, u: F64) -> F64:
        """Inverse CDF at ``u``."""
        from scipy import stats

        p = self.params
        if self.kind == "fixed":
            return np.full(u.shape, p[0])
        if self.kind == "uniform":
            return p[0] + u * (p[1] - p[0])  # type: ignore[no-any-return]
        if self.kind == "triangular":
            low, mode, high = p
            if high == low:
                return np.full(u.shape, low)
            return stats.triang(c=(mode - low) / (high - low), loc=low, scale=high - low).ppf(u)  # type: ignore[no-any-return]
        if self.kind == "beta":
            a, b, low, high = p
            return low + (high - low) * stats.beta(a, b).ppf(u)  # type: ignore[no-any-return]
        if self.kind == "lognormal":
            median, sigma = p
            value = median * np.exp(sigma * stats.norm.ppf(u))
            return value if self.clip is None else np.clip(value, *self.clip)  # type: ignore[no-any-return]
        if self.kind == "bernoulli":
            return (u < p[0]).astype(float)
        if self.kind == "categorical":
            cum = np.cumsum(p) / np.sum(p)
            idx = np.minimum(np.searchsorted(cum, u, side="right"), len(self.values) - 1)
            return np.asarray(self.values, dtype=float)[idx]
        raise AssertionError(self.kind)

    def bounds(self) -> tuple[float, float]:
        """Smallest and largest value the distribution can take."""
        if self.kind == "fixed":
            return self.params[0], self.params[0]
        if self.kind == "uniform":
            return self.params[0], self.params[1]
        if self.kind == "triangular":
            return self.params[0], self.params[2]
        if self.kind == "beta":
            return self.params[2], self.params[3]
        if self.kind == "lognormal":
            return 0.0, math.inf
        if self.kind == "bernoulli":
            return 0.0, 1.0
        return min(self.values), max(self.values)


# ------------------------------------------------------------------------------------- config types --
@dataclass(frozen=True)
class Project:
    """An import-substitution project (a lever that policies may include)."""

    name: str
    region: str
    sector: str
    capacity_share: float  # of the industry's baseline output (0 when ``capacity`` is given)
    capacity: float  # per year, in the economy's unit
    capex: float
    lead_time_years: Dist
    success: Dist  # probability: a bernoulli
    ramp_days: int


@dataclass(frozen=True)
class Counter:
    """A counter-trade (barter) channel with friendly partners."""

    capacity: Dist
    efficiency: Dist
    discount: Dist
    lag_days: int
    ramp_days: float
    friendly: tuple[str, ...]


@dataclass(frozen=True)
class Policy:
    """A named set of levers, evaluated on the same draws as every other policy."""

    name: str
    counter_trade: Counter | None = None
    projects: tuple[str, ...] = ()
    cooperation_weight: float = 1.0
    cooperation_speedup: float = 1.0


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
    economy_spec: str
    economy: Economy = field(repr=False)
    targets: tuple[str, ...]
    onset: Dist
    duration: Dist | None  # None: for good
    coalition: dict[str, Dist]
    import_ban: dict[str, Dist]
    export_ban: dict[str, Dist]
    leakage: dict[str, Dist]
    leakage_premium: dict[str, Dist]
    substitutability: dict[str, Dist]
    substitution_tau: dict[str, Dist]
    ario: dict[str, Dist]
    projects: dict[str, Project]
    policies: tuple[Policy, ...]
    resolved: dict[str, Any] = field(repr=False)

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
        shown = value if not isinstance(value, dict | list) else json.dumps(value)
        return ConfigError(f"{self.path}: [{key}] = {shown!r}: {problem}")


def _table(ctx: _Ctx, raw: Any, key: str, allowed: tuple[str, ...] | None = None) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise ctx.fail(key, raw, "expected a table")
    if allowed is not None:
        unknown = sorted(set(raw) - set(allowed))
        if unknown:
            raise ctx.fail(f"{key}.{unknown[0]}" if key else unknown[0], raw[unknown[0]],
                           f"unknown key; allowed keys are {', '.join(allowed)}")  # fmt: skip
    return raw


def _number(ctx: _Ctx, raw: Any, key: str, low: float = -math.inf, high: float = math.inf) -> float:
    if isinstance(raw, bool) or not isinstance(raw, int | float) or not math.isfinite(raw):
        raise ctx.fail(key, raw, "expected a number")
    if not low <= raw <= high:
        raise ctx.fail(key, raw, f"must lie in [{low}, {high}]")
    return float(raw)


def _integer(ctx: _Ctx, raw: Any, key: str, low: int = 0) -> int:
    if isinstance(raw, bool) or not isinstance(raw, int):
        raise ctx.fail(key, raw, "expected a whole number")
    if raw < low:
        raise ctx.fail(key, raw, f"must be >= {low}")
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
        return Dist("categorical", tuple(w), tuple(vals))
    raise ctx.fail(key, raw, f"unknown distribution {kind!r}; use uniform, triangular, beta, lognormal, "
                   "bernoulli or categorical")  # fmt: skip


def _per_label(ctx: _Ctx, raw: Any, key: str, labels: tuple[str, ...], what: str, default: float,
               low: float, high: float) -> dict[str, Dist]:  # fmt: skip
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
        raise ctx.fail(f"{key}.{unknown[0]}", raw[unknown[0]],
                       f"unknown {what}; the economy's {what}s are {known} (or 'default'); {hint}")  # fmt: skip
    base = _dist(ctx, raw.get("default", default), f"{key}.default", low, high)
    return {lab: _dist(ctx, raw[lab], f"{key}.{lab}", low, high) if lab in raw else base for lab in labels}


def _looks_like_dist(raw: dict[str, Any]) -> bool:
    keys = set(raw) - {"low", "high"}
    return bool(keys) and keys <= {"uniform", "triangular", "beta", "lognormal", "bernoulli", "categorical"}


def _regions(ctx: _Ctx, raw: Any, key: str, economy: Economy) -> tuple[str, ...]:
    if not isinstance(raw, list) or not all(isinstance(v, str) for v in raw):
        raise ctx.fail(key, raw, "expected a list of region labels")
    unknown = [v for v in raw if v not in economy.regions]
    if unknown:
        raise ctx.fail(key, unknown[0], f"unknown region; the economy's regions are {', '.join(economy.regions)}")
    return tuple(raw)


_TOP = ("run", "economy", "sanctions", "ario", "projects", "policies")
_RUN = ("name", "seed", "draws", "days", "design", "batch_size", "out")
_ECONOMY = ("id", "path", "kind", "concordance", "domestic", "targets")
_SANCTIONS = ("onset", "duration", "coalition", "import_ban", "export_ban", "leakage", "leakage_premium",
              "substitutability", "substitution_tau")  # fmt: skip
_ARIO = ("alpha_max", "alpha_tau", "psi", "inventory_tau", "inventory_days")
_PROJECT = ("region", "sector", "capacity_share", "capacity", "capex", "lead_time_years", "success", "ramp_days")
_POLICY = ("counter_trade", "projects", "cooperation", "include")
_COUNTER = ("capacity", "efficiency", "discount", "lag_days", "ramp_days", "friendly")
_COOP = ("weight", "speedup")


def load(path: str | Path, **overrides: Any) -> Config:
    """Read and validate a config; ``overrides`` (draws, seed, days, out, batch_size) win over the file."""
    path = Path(path)
    ctx = _Ctx(str(path))
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such config file") from None
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(f"{path}: cannot read the config: {err}") from err
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{path}: not valid TOML: {err}") from err
    _table(ctx, raw, "", _TOP)
    run = _table(ctx, raw.get("run", {}), "run", _RUN)
    for key, value in overrides.items():
        if value is not None:
            run[key] = value
    name = run.get("name", path.stem)
    if not isinstance(name, str) or not name:
        raise ctx.fail("run.name", name, "expected a non-empty string")
    seed = _integer(ctx, run.get("seed", 0), "run.seed")
    draws = _integer(ctx, run.get("draws", 100), "run.draws", 1)
    days = _integer(ctx, run.get("days", 365), "run.days", 1)
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

    eco_raw = _table(ctx, raw.get("economy", {}), "economy", _ECONOMY)
    spec = eco_raw.get("id", eco_raw.get("path", "ru-by"))
    if "id" in eco_raw and "path" in eco_raw:
        raise ctx.fail("economy", eco_raw, "give either id or path, not both")
    if "path" in eco_raw and not Path(str(spec)).is_absolute():
        spec = str((path.parent / str(spec)).resolve())
    concordance = eco_raw.get("concordance")
    if concordance is not None and not Path(concordance).is_absolute():
        concordance = str((path.parent / concordance).resolve())
    domestic = eco_raw.get("domestic")
    kind = eco_raw.get("kind", "auto")
    try:
        economy = resolve(str(spec), kind=str(kind), concordance=concordance, domestic=domestic)
    except InputError as err:
        raise ConfigError(f"{path}: [economy]: {err}") from err
    targets = tuple(r for r, d in zip(economy.regions, economy.domestic, strict=True) if d)
    if "targets" in eco_raw:
        targets = _regions(ctx, eco_raw["targets"], "economy.targets", economy)
    if not targets:
        raise ctx.fail("economy.targets", list(targets), "no target region: name them or tag domestic regions")

    sec = _table(ctx, raw.get("sanctions", {}), "sanctions", _SANCTIONS)
    onset = _dist(ctx, sec.get("onset", 0), "sanctions.onset", 0, days - 1)
    dur_raw = sec.get("duration", "forever")
    duration = None if dur_raw == "forever" else _dist(ctx, dur_raw, "sanctions.duration", 0)
    partners = tuple(r for r in economy.regions if r not in targets)
    coal_default = {r: float(c) for r, c in zip(economy.regions, economy.coalition, strict=True)}
    coal_raw = sec.get("coalition")
    if coal_raw is None:
        coalition = {r: Dist("fixed", (coal_default[r],)) for r in partners}
    else:  # a probability of membership per partner
        coalition = _per_label(ctx, coal_raw, "sanctions.coalition", partners, "partner", 0.0, 0.0, 1.0)
        coalition = {r: _probability(ctx, d, f"sanctions.coalition.{r}") for r, d in coalition.items()}
    sectors = economy.sectors
    unit = (0.0, 1.0)
    import_ban = _per_label(ctx, sec.get("import_ban"), "sanctions.import_ban", sectors, "sector", 0.0, *unit)
    export_ban = _per_label(ctx, sec.get("export_ban"), "sanctions.export_ban", sectors, "sector", 0.0, *unit)
    leakage = _per_label(ctx, sec.get("leakage"), "sanctions.leakage", sectors, "sector", 0.0, *unit)
    premium = _per_label(ctx, sec.get("leakage_premium"), "sanctions.leakage_premium", sectors, "sector", 0.0,
                         0.0, math.inf)  # fmt: skip
    subst = _per_label(ctx, sec.get("substitutability"), "sanctions.substitutability", sectors, "sector", 0.0,
                       *unit)  # fmt: skip
    tau = _per_label(ctx, sec.get("substitution_tau"), "sanctions.substitution_tau", sectors, "sector", 180.0,
                     1.0, math.inf)  # fmt: skip

    ario_raw = _table(ctx, raw.get("ario", {}), "ario", _ARIO)
    ario_limits = {"alpha_max": (1.0, 10.0, 1.25), "alpha_tau": (1.0, math.inf, 365.0), "psi": (1e-6, 1.0, 0.8),
                   "inventory_tau": (1.0, math.inf, 60.0), "inventory_days": (1.0, math.inf, 90.0)}  # fmt: skip
    ario = {k: _dist(ctx, ario_raw.get(k, dv), f"ario.{k}", lo, hi) for k, (lo, hi, dv) in ario_limits.items()}
    if ario["psi"].bounds()[0] * ario["inventory_days"].bounds()[0] < 1:
        raise ctx.fail("ario.inventory_days", ario_raw.get("inventory_days", 90),
                       "psi x inventory_days must stay >= 1 (at least a day of use in stock)")  # fmt: skip

    projects: dict[str, Project] = {}
    for pname, praw in _table(ctx, raw.get("projects", {}), "projects").items():
        key = f"projects.{pname}"
        p = _table(ctx, praw, key, _PROJECT)
        region = p.get("region")
        if region not in economy.regions:
            raise ctx.fail(
                f"{key}.region", region, f"unknown region; the economy's regions are {', '.join(economy.regions)}"
            )
        sector = p.get("sector")
        if sector not in economy.sectors:
            raise ctx.fail(f"{key}.sector", sector, f"unknown sector; the economy's sectors are {', '.join(sectors)}")
        if ("capacity" in p) == ("capacity_share" in p):
            raise ctx.fail(key, p, "give exactly one of capacity (per year) or capacity_share (of baseline output)")
        projects[pname] = Project(
            name=pname, region=region, sector=sector,
            capacity_share=_number(ctx, p.get("capacity_share", 0.0), f"{key}.capacity_share", 0.0),
            capacity=_number(ctx, p.get("capacity", 0.0), f"{key}.capacity", 0.0),
            capex=_number(ctx, p.get("capex", 0.0), f"{key}.capex", 0.0),
            lead_time_years=_dist(ctx, p.get("lead_time_years", 0.0), f"{key}.lead_time_years", 0.0),
            success=_dist(ctx, p.get("success", 1.0), f"{key}.success", 0.0, 1.0),
            ramp_days=_integer(ctx, p.get("ramp_days", 0), f"{key}.ramp_days"),
        )  # fmt: skip
        success = _probability(ctx, projects[pname].success, f"{key}.success")
        projects[pname] = Project(**{**projects[pname].__dict__, "success": success})

    pol_raw = _table(ctx, raw.get("policies", {"status_quo": {}}), "policies")
    if not pol_raw:
        raise ctx.fail("policies", pol_raw, "name at least one policy, e.g. [policies.status_quo]")
    policies = tuple(_policy(ctx, n, pol_raw, projects, economy, targets, set()) for n in pol_raw)
    resolved = {
        "run": {"name": name, "seed": seed, "draws": draws, "days": days, "design": design,
                "batch_size": batch_size, "out": out},
        "economy": {"spec": str(spec), "id": economy.id, "targets": list(targets)},
        "sanctions": {k: sec.get(k) for k in _SANCTIONS if k in sec},
        "ario": ario_raw, "projects": raw.get("projects", {}), "policies": pol_raw,
    }  # fmt: skip
    return Config(
        path=str(path), name=name, seed=seed, draws=draws, days=days, design=design, batch_size=batch_size, out=out,
        economy_spec=str(spec), economy=economy, targets=targets, onset=onset, duration=duration, coalition=coalition,
        import_ban=import_ban, export_ban=export_ban, leakage=leakage, leakage_premium=premium,
        substitutability=subst, substitution_tau=tau, ario=ario, projects=projects, policies=policies,
        resolved=resolved,
    )  # fmt: skip


def _probability(ctx: _Ctx, d: Dist, key: str) -> Dist:
    """A probability p in [0, 1] as the 0/1 event it governs (fixed when p is 0 or 1)."""
    if d.kind == "bernoulli":
        return d
    if d.kind != "fixed":
        raise ctx.fail(key, d.kind, "expected a probability: a number in [0, 1] or {bernoulli = p}")
    p = d.params[0]
    return Dist("fixed", (p,)) if p in (0.0, 1.0) else Dist("bernoulli", (p,))


def _policy(ctx: _Ctx, name: str, table: Mapping[str, Any], projects: dict[str, Project], economy: Economy,
            targets: tuple[str, ...], seen: set[str]) -> Policy:  # fmt: skip
    key = f"policies.{name}"
    if name in seen:
        raise ctx.fail(f"{key}.include", name, "policies include each other in a circle")
    raw = _table(ctx, table[name], key, _POLICY)
    pol = Policy(name=name)
    for other in raw.get("include", []):
        if other not in table:
            raise ctx.fail(f"{key}.include", other, f"unknown policy; the policies are {', '.join(table)}")
        sub = _policy(ctx, other, table, projects, economy, targets, seen | {name})
        pol = Policy(name, sub.counter_trade or pol.counter_trade, tuple(dict.fromkeys(pol.projects + sub.projects)),
                     max(pol.cooperation_weight, sub.cooperation_weight),
                     max(pol.cooperation_speedup, sub.cooperation_speedup))  # fmt: skip
    names = raw.get("projects", [])
    if not isinstance(names, list):
        raise ctx.fail(f"{key}.projects", names, "expected a list of project names")
    for pn in names:
        if pn not in projects:
            known = ", ".join(projects) or "none defined"
            raise ctx.fail(f"{key}.projects", pn, f"unknown project; define it under [projects.{pn}] ({known})")
    counter = pol.counter_trade
    if "counter_trade" in raw:
        c = _table(ctx, raw["counter_trade"], f"{key}.counter_trade", _COUNTER)
        k2 = f"{key}.counter_trade"
        default_friendly = [r for r, f in zip(economy.regions, economy.friendly, strict=True) if f and r not in targets]
        friendly = _regions(ctx, c.get("friendly", default_friendly), f"{k2}.friendly", economy)
        bad = [r for r in friendly if r in targets]
        if bad:
            raise ctx.fail(f"{k2}.friendly", bad[0], "a target region cannot be a friendly partner")
        counter = Counter(
            capacity=_dist(ctx, c.get("capacity", 0.02), f"{k2}.capacity", 0.0),
            efficiency=_dist(ctx, c.get("efficiency", 1.0), f"{k2}.efficiency", 0.0, 1.0),
            discount=_dist(ctx, c.get("discount", 0.0), f"{k2}.discount", 0.0, 1.0),
            lag_days=_integer(ctx, c.get("lag_days", 0), f"{k2}.lag_days"),
            ramp_days=_number(ctx, c.get("ramp_days", 90.0), f"{k2}.ramp_days", 1e-9),
            friendly=friendly,
        )  # fmt: skip
    weight, speedup = pol.cooperation_weight, pol.cooperation_speedup
    if "cooperation" in raw:
        co = _table(ctx, raw["cooperation"], f"{key}.cooperation", _COOP)
        weight = _number(ctx, co.get("weight", 1.0), f"{key}.cooperation.weight", 1.0)
        speedup = _number(ctx, co.get("speedup", 1.0), f"{key}.cooperation.speedup", 1.0)
    return Policy(name, counter, tuple(dict.fromkeys(pol.projects + tuple(names))), weight, speedup)
