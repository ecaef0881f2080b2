"""A config compiled into a job the runner can run anywhere: draws by scenario index, the core's inputs, tables.

Scenario ``i`` of a run with seed ``s`` takes the uniforms of its design (Monte Carlo: ``SeedSequence(s,
spawn_key=(i,))``; Latin hypercube and Sobol: row ``i`` of a ``scipy.stats.qmc`` sample of all draws, seeded by
the run seed), so its parameters never depend on batch size, worker count, retries or order. Every policy is
simulated on the same draws (common random numbers).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pyarrow as pa
from numpy.typing import NDArray

from cluster.config import Config, Policy, Project
from cluster.core import METRICS, NEVER, Baseline, Extensions, ShockBatch, embargo_links, simulate
from cluster.distributions import Dist
from cluster.parameters import PARAMETERS, Param, column, declared
from cluster.schema import RESULT_SCHEMA, params_schema

__all__ = ["Column", "Plan", "rng_for"]

F64 = NDArray[np.float64]
Ids = NDArray[np.int64]


def rng_for(seed: int, scenario_id: int) -> np.random.Generator:
    """The generator of one scenario: a pure function of the run seed and the scenario id."""
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(int(scenario_id),)))


@dataclass(frozen=True)
class Column:
    """One recorded parameter: its column name, declaration, owner (project or policy), label and distribution."""

    name: str
    param: Param
    owner: str | None
    label: str | None
    dist: Dist


def _columns(config: Config) -> tuple[Column, ...]:
    """Every recorded parameter of a config, in the declaration order of ``cluster.parameters``."""
    cols: list[Column] = []

    def add(p: Param, dist: Dist | Any | None, owner: str | None = None) -> None:
        if isinstance(dist, dict):
            cols.extend(Column(column(p, owner=owner, label=lab), p, owner, lab, d) for lab, d in dist.items())
        else:  # "forever" is recorded as -1
            cols.append(Column(column(p, owner=owner), p, owner, None, dist or Dist("fixed", (-1.0,))))

    def recorded(section: str) -> list[Param]:
        return [p for p in declared(section) if p.recorded]

    for p in recorded("sanctions"):
        add(p, config.sanctions.items[p.key])
    for p in recorded("ario"):
        add(p, config.ario.items[p.key])
    for proj in config.projects.values():  # project-major: a project's parameters side by side
        for p in recorded("project"):
            add(p, proj.values.items[p.key], proj.name)
    for pol in config.policies:
        if pol.counter_trade is not None:
            for p in recorded("counter_trade"):
                add(p, pol.counter_trade.values.items[p.key], pol.name)
    placed = {"sanctions", "ario", "project", "counter_trade"}
    if stray := [p.key for p in PARAMETERS if p.recorded and p.section not in placed]:
        raise AssertionError(f"recorded parameters {stray} have no place in the plan")
    return tuple(cols)


@dataclass(frozen=True, eq=False)
class Plan:
    """Everything a worker needs to simulate any scenario of a config run (a picklable, immutable job)."""

    baseline: Baseline
    regions: tuple[str, ...]
    sectors: tuple[str, ...]
    policies: tuple[Policy, ...]
    columns: tuple[Column, ...]  # every recorded parameter, in column order
    design: str
    seed: int
    n_scenarios: int
    steps: int
    target: NDArray[np.bool_]
    projects: tuple[Project, ...]
    project_industry: tuple[int, ...]
    extensions: Extensions

    @classmethod
    def from_config(cls, config: Config, *, extensions: Extensions | None = None) -> Plan:
        """Compile a validated config into a plan; ``extensions`` overrides the switches the config implies."""
        eco = config.economy
        projects = tuple(config.projects.values())
        ext = extensions or Extensions(
            sanctions=True,
            leakage=True,
            substitution=True,
            counter_trade=any(p.counter_trade is not None for p in config.policies),
            projects=any(p.projects for p in config.policies),
            cooperation=any(p.cooperates for p in config.policies),
        )
        return cls(
            baseline=eco.baseline(),
            regions=eco.regions,
            sectors=eco.sectors,
            policies=config.policies,
            columns=_columns(config),
            design=config.design,
            seed=config.seed,
            n_scenarios=config.draws,
            steps=config.days,
            target=np.isin(eco.regions, config.targets),
            projects=projects,
            project_industry=tuple(eco.industry(p.region, p.sector) for p in projects),
            extensions=ext,
        )

    @property
    def names(self) -> tuple[str, ...]:
        """The recorded parameters' column names."""
        return tuple(c.name for c in self.columns)

    @property
    def uncertain(self) -> tuple[int, ...]:
        """Positions of the parameters that take a dimension of the design."""
        return tuple(i for i, c in enumerate(self.columns) if c.dist.uncertain)

    def uniforms(self, ids: Ids) -> F64:
        """The design's uniforms for scenarios ``ids``, (len(ids), number of uncertain parameters)."""
        d = len(self.uncertain)
        if d == 0:
            return np.zeros((len(ids), 0))
        if self.design == "monte_carlo":
            return np.stack([rng_for(self.seed, int(i)).random(d) for i in ids])
        from scipy.stats import qmc

        engine: qmc.QMCEngine
        if self.design == "latin_hypercube":
            engine = qmc.LatinHypercube(d=d, rng=np.random.default_rng(self.seed))
            sample = engine.random(self.n_scenarios)
        else:
            engine = qmc.Sobol(d=d, scramble=True, rng=np.random.default_rng(self.seed))
            sample = engine.random_base2(int(np.log2(self.n_scenarios)))
        return sample[ids]  # type: ignore[no-any-return]

    def draw(self, ids: Ids) -> F64:
        """Every recorded parameter of scenarios ``ids``, (len(ids), len(columns))."""
        u = self.uniforms(ids)
        values = np.empty((len(ids), len(self.columns)))
        col = dict(zip(self.uncertain, range(len(self.uncertain)), strict=True))
        for j, c in enumerate(self.columns):
            values[:, j] = c.dist.ppf(u[:, col[j]]) if j in col else c.dist.fixed_value()
        return values

    def shocks(self, ids: Ids, values: F64) -> ShockBatch:
        """The core's inputs for scenarios ``ids`` under every policy, scenario-major (B = ids x policies)."""
        return _Compiler(self, ids, values).batch()

    def run(self, ids: Ids) -> tuple[pa.RecordBatch, pa.RecordBatch]:
        """Simulate scenarios ``ids`` under every policy: (results, drawn parameters) as Arrow record batches."""
        ids = np.asarray(ids, dtype=np.int64)
        values = self.draw(ids)
        out = simulate(self.baseline, self.shocks(ids, values), self.steps, extensions=self.extensions)
        n_pol, r = len(self.policies), len(self.regions)
        policy_names = [p.name for p in self.policies]
        rows = len(ids) * n_pol * r
        columns: dict[str, Any] = {
            "scenario_id": np.repeat(ids, n_pol * r),
            "policy": np.tile(np.repeat(np.array(policy_names, dtype=object), r), len(ids)),
            "region": np.tile(np.array(self.regions, dtype=object), len(ids) * n_pol),
        }
        for metric in METRICS.values():
            if metric.kind == "day":  # "never" is -1 in the core, null in the table
                day = out.metrics[metric.name].reshape(rows)
                columns[metric.name] = pa.array(day.astype(np.int32), mask=day < 0, type=pa.int32())
            else:
                columns[metric.name] = out.metrics[metric.name].reshape(rows)
        results = pa.RecordBatch.from_pydict(columns, schema=RESULT_SCHEMA)
        p_cols: dict[str, Any] = {
            "scenario_id": np.repeat(ids, n_pol),
            "policy": np.tile(np.array(policy_names, dtype=object), len(ids)),
        }
        for j, name in enumerate(self.names):
            p_cols[name] = np.repeat(values[:, j], n_pol)
        params = pa.RecordBatch.from_pydict(p_cols, schema=params_schema(list(self.names)))
        return results, params


class _Compiler:
    """Turns the drawn values of a batch into a ``ShockBatch``: direct targets generically, the rest by name."""

    def __init__(self, plan: Plan, ids: Ids, values: F64) -> None:
        self.plan, self.values = plan, values
        self.n, self.n_pol = len(ids), len(plan.policies)
        self.index = {c.name: j for j, c in enumerate(plan.columns)}

    def scalar(self, p: Param, owner: str | None = None) -> F64:
        """A per-scenario parameter, (n,)."""
        return self.values[:, self.index[column(p, owner=owner)]]

    def per(self, p: Param, labels: tuple[str, ...]) -> F64:
        """A per-label parameter, (n, len(labels))."""
        return self.values[:, [self.index[column(p, label=lab)] for lab in labels]]

    def rep(self, a: Any) -> Any:
        """Scenario rows repeated for every policy (scenario-major)."""
        return np.repeat(a, self.n_pol, axis=0)

    def batch(self) -> ShockBatch:
        plan, bl = self.plan, self.plan.baseline
        b = self.n * self.n_pol
        base = ShockBatch.quiet(bl, b, events=1, projects=max(len(plan.projects), 1))
        groups: dict[str, dict[str, Any]] = {name: {} for name in ("sanctions", "ario")}
        # Parameters that set a core field as drawn: one per scenario, or one per sector.
        for section, owner_group in (("sanctions", "sanctions"), ("ario", "ario")):
            for p in declared(section):
                if p.target is None:
                    continue
                group, name = p.target.split(".")
                assert group == owner_group, p.target
                current = getattr(getattr(base, group), name)
                value = self.per(p, plan.sectors) if p.over == "sector" else self.scalar(p)
                if value.ndim == 1 and current.ndim == 2:  # one value for every sector
                    value = np.repeat(value[:, None], current.shape[1], axis=1)
                groups[group][name] = self.rep(value)
        sanctions = replace(base.sanctions, **groups["sanctions"], **self._window_and_embargo())
        ario = replace(base.ario, **groups["ario"])
        return replace(base, target=plan.target, sanctions=sanctions, ario=ario, **self._policies(base))

    def _window_and_embargo(self) -> dict[str, Any]:
        """The sanction window from onset and duration; the embargo from the coalition draw and the bans."""
        plan = self.plan
        p = {q.key: q for q in declared("sanctions")}
        partners = [c.label for c in plan.columns if c.param == p["coalition"] and c.label is not None]
        coalition = np.zeros((self.n, len(plan.regions)), dtype=bool)
        for reg in partners:
            coalition[:, plan.regions.index(reg)] = self.values[:, self.index[column(p["coalition"], label=reg)]] > 0.5
        onset = np.rint(self.scalar(p["onset"])).astype(np.int64)
        dur = self.scalar(p["duration"])
        end = np.where(dur < 0, NEVER, onset + np.rint(np.maximum(dur, 0.0)).astype(np.int64))
        embargo = embargo_links(
            plan.target, coalition, self.per(p["import_ban"], plan.sectors), self.per(p["export_ban"], plan.sectors)
        )
        return {"onset": self.rep(onset), "end": self.rep(end), "embargo": self.rep(embargo)}

    def _policies(self, base: ShockBatch) -> dict[str, Any]:
        """The policy levers, row by row: cooperation, counter-trade channels, projects."""
        plan, bl = self.plan, self.plan.baseline
        ct, coop, proj = base.counter_trade, base.cooperation, base.projects
        friendly, weight, speedup = ct.friendly.copy(), coop.weight.copy(), coop.speedup.copy()
        direct = [q for q in declared("counter_trade") if q.target is not None]
        drawn = {q.key: getattr(ct, _field(q)).copy() for q in direct}
        lag, tau = ct.lag.copy(), ct.tau.copy()
        pj = {
            name: getattr(proj, name).copy() for name in ("industry", "capacity", "online", "ramp", "success", "capex")
        }
        p = {q.key: q for q in declared("project")}
        onset = np.rint(self.scalar(_param("sanctions", "onset"))).astype(np.int64)
        for k, pol in enumerate(plan.policies):
            rows = np.arange(self.n) * self.n_pol + k
            weight[rows] = pol.cooperation.number("weight")
            speedup[rows] = pol.cooperation.number("speedup")
            if pol.counter_trade is not None:
                c = pol.counter_trade
                cols = np.array([plan.regions.index(reg) for reg in c.friendly], dtype=np.int64)
                friendly[np.ix_(rows, cols)] = True
                for q in direct:
                    drawn[q.key][rows] = self.scalar(q, pol.name)
                lag[rows], tau[rows] = int(c.values.number("lag_days")), c.values.number("ramp_days")
            for j, project in enumerate(plan.projects):
                f = plan.project_industry[j]
                pj["industry"][rows, j] = f
                if project.name not in pol.projects:
                    continue
                v = project.values
                capacity = v.number("capacity")
                daily = capacity / 365.0 if capacity > 0 else v.number("capacity_share") * bl.x0[f]
                lead = np.rint(self.scalar(p["lead_time_years"], project.name) * 365.0).astype(np.int64)
                pj["capacity"][rows, j] = daily
                pj["online"][rows, j] = onset + lead
                pj["ramp"][rows, j] = int(v.number("ramp_days"))
                pj["success"][rows, j] = self.scalar(p["success"], project.name) > 0.5
                pj["capex"][rows, j] = v.number("capex")
        targets = {_field(q): drawn[q.key] for q in direct}
        return {
            "cooperation": replace(coop, weight=weight, speedup=speedup),
            "counter_trade": replace(ct, friendly=friendly, lag=lag, tau=tau, **targets),
            "projects": replace(proj, **pj),
        }


def _param(section: str, key: str) -> Param:
    return next(p for p in declared(section) if p.key == key)


def _field(p: Param) -> str:
    """The field of its ``ShockBatch`` group that a directly targeted parameter sets."""
    assert p.target is not None, p.key
    return p.target.split(".", 1)[1]
