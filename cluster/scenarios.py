"""Scenario draws: per-scenario seeds by index, and the smoke design used by ``shock simulate``.

Scenario ``i`` of a run with seed ``s`` draws from ``SeedSequence(s, spawn_key=(i,))``, so its parameters
never depend on batch size, worker count, retries or order.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pyarrow as pa
from numpy.typing import NDArray

from cluster.config import Config, Dist, Policy, Project
from cluster.core import NEVER, Ario, Baseline, Extensions, ShockBatch, embargo_links, simulate
from cluster.economy import Economy
from cluster.schema import RESULT_SCHEMA, params_schema

__all__ = ["Plan", "rng_for", "smoke_batch"]

F64 = NDArray[np.float64]


def rng_for(seed: int, scenario_id: int) -> np.random.Generator:
    """The generator of one scenario: a pure function of the run seed and the scenario id."""
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(int(scenario_id),)))


def smoke_batch(economy: Economy, baseline: Baseline, ids: NDArray[np.int64], seed: int) -> ShockBatch:
    """A stylised sanctions package drawn per scenario, for the ``simulate`` smoke command.

    Targets are the economy's domestic regions (or its first region if none is tagged). The coalition is
    the economy's default coalition (its tags) when it has one, else each other region with probability
    0.6; friendly partners are the tagged ones, else every other non-coalition region. Each sector is
    banned (imports and exports) with probability 0.5; leakage ~ U(0, 0.3) at a premium ~ U(0.1, 0.4);
    substitutability ~ Beta(2, 2) ramping over ~ U(60, 360) days; onset on day 30, for good. Counter-trade up
    to 2% of bilateral trade with friendly partners; cooperation weight ~ U(1, 3).
    """
    r, s = len(economy.regions), len(economy.sectors)
    b = len(ids)
    target = economy.domestic.copy()
    if not target.any():
        target[0] = True
    coalition = np.zeros((b, r), dtype=bool)
    bans = np.zeros((b, s))
    leak = np.zeros((b, s))
    prem = np.zeros((b, s))
    sub = np.zeros((b, s))
    tau = np.zeros((b, s))
    gamma = np.zeros(b)
    eff = np.zeros(b)
    for row, i in enumerate(ids):
        g = rng_for(seed, int(i))
        joins = g.uniform(size=r) < 0.6
        coalition[row] = (economy.coalition if economy.coalition.any() else joins) & ~target
        bans[row] = g.uniform(size=s) < 0.5
        leak[row] = g.uniform(0.0, 0.3, size=s)
        prem[row] = g.uniform(0.1, 0.4, size=s)
        sub[row] = g.beta(2.0, 2.0, size=s)
        tau[row] = g.uniform(60.0, 360.0, size=s)
        gamma[row] = g.uniform(1.0, 3.0)
        eff[row] = g.uniform(0.2, 0.8)
    friendly = ~coalition & ~target[None, :]
    if economy.friendly.any():
        friendly &= economy.friendly[None, :]
    base = ShockBatch.quiet(baseline, b)
    return replace(
        base,
        target=target,
        embargo=embargo_links(target, coalition, bans, bans),
        sanction_onset=np.full(b, 30, dtype=np.int64),
        sanction_end=np.full(b, NEVER, dtype=np.int64),
        leakage=leak,
        leakage_premium=prem,
        substitutability=sub,
        substitution_tau=tau,
        coop_weight=gamma,
        coop_speedup=np.full(b, 2.0),
        friendly=friendly,
        ct_capacity=np.full(b, 0.02),
        ct_efficiency=eff,
        ct_discount=np.full(b, 0.15),
        ct_lag=np.full(b, 30, dtype=np.int64),
        ario=Ario.default(b, s),
    )


# ------------------------------------------------------------------------------------- config runs --
@dataclass(frozen=True, eq=False)
class Plan:
    """Everything a worker needs to simulate any scenario of a config run (a picklable, immutable job).

    Scenario ``i`` takes the uniforms ``u_i`` of the design (Monte Carlo: ``rng_for(seed, i)``; Latin
    hypercube and Sobol: row ``i`` of a ``scipy.stats.qmc`` sample of all draws, seeded by the run seed)
    and maps them through the inverse CDFs of the config's uncertainties. Every policy is simulated on the
    same draws (common random numbers).
    """

    baseline: Baseline
    regions: tuple[str, ...]
    policies: tuple[Policy, ...]
    names: tuple[str, ...]  # every parameter recorded, in column order
    dists: tuple[Dist, ...]  # their distributions
    uncertain: tuple[int, ...]  # positions of the parameters that take a design dimension
    design: str
    seed: int
    n_scenarios: int
    steps: int
    target: NDArray[np.bool_]
    sectors: tuple[str, ...]
    projects: tuple[Project, ...]
    project_industry: tuple[int, ...]
    extensions: Extensions

    @classmethod
    def from_config(cls, config: Config) -> Plan:
        """Compile a validated config into a plan."""
        eco = config.economy
        names: list[str] = []
        dists: list[Dist] = []

        def add(name: str, dist: Dist) -> None:
            names.append(name)
            dists.append(dist)

        add("onset", config.onset)
        add("duration", config.duration if config.duration is not None else Dist("fixed", (-1.0,)))
        for r, d in config.coalition.items():
            add(f"coalition.{r}", d)
        tables = (("import_ban", config.import_ban), ("export_ban", config.export_ban), ("leakage", config.leakage),
                  ("leakage_premium", config.leakage_premium), ("substitutability", config.substitutability),
                  ("substitution_tau", config.substitution_tau))  # fmt: skip
        for label, table in tables:
            for sector, d in table.items():
                add(f"{label}.{sector}", d)
        for key, d in config.ario.items():
            add(f"ario.{key}", d)
        for p in config.projects.values():
            add(f"project.{p.name}.lead_time_years", p.lead_time_years)
            add(f"project.{p.name}.success", p.success)
        for pol in config.policies:
            if pol.counter_trade is not None:
                ct = pol.counter_trade
                for key, d in (("capacity", ct.capacity), ("efficiency", ct.efficiency), ("discount", ct.discount)):
                    add(f"policy.{pol.name}.counter_trade.{key}", d)
        uncertain = tuple(i for i, d in enumerate(dists) if d.uncertain)
        projects = tuple(config.projects.values())
        ext = Extensions(
            sanctions=True, leakage=True, substitution=True,
            counter_trade=any(p.counter_trade is not None for p in config.policies),
            projects=any(p.projects for p in config.policies),
            cooperation=any(p.cooperation_weight > 1 or p.cooperation_speedup > 1 for p in config.policies),
        )  # fmt: skip
        return cls(
            baseline=eco.baseline(), regions=eco.regions, policies=config.policies, names=tuple(names),
            dists=tuple(dists), uncertain=uncertain, design=config.design, seed=config.seed,
            n_scenarios=config.draws, steps=config.days, target=np.isin(eco.regions, config.targets),
            sectors=eco.sectors, projects=projects,
            project_industry=tuple(eco.industry(p.region, p.sector) for p in projects), extensions=ext,
        )  # fmt: skip

    def uniforms(self, ids: NDArray[np.int64]) -> F64:
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

    def draw(self, ids: NDArray[np.int64]) -> F64:
        """Every recorded parameter of scenarios ``ids``, (len(ids), len(names))."""
        u = self.uniforms(ids)
        values = np.empty((len(ids), len(self.names)))
        col = dict(zip(self.uncertain, range(len(self.uncertain)), strict=True))
        for j, dist in enumerate(self.dists):
            values[:, j] = dist.ppf(u[:, col[j]]) if j in col else dist.fixed_value()
        return values

    def shocks(self, ids: NDArray[np.int64], values: F64) -> ShockBatch:
        """The core's inputs for scenarios ``ids`` under every policy, scenario-major (B = ids x policies)."""
        bl = self.baseline
        r, s, n_pol = bl.n_regions, bl.n_sectors, len(self.policies)
        col = {name: j for j, name in enumerate(self.names)}

        def per(prefix: str, labels: tuple[str, ...]) -> F64:
            return values[:, [col[f"{prefix}.{lab}"] for lab in labels]]

        def rep(a: Any) -> Any:
            return np.repeat(a, n_pol, axis=0)

        partners = [reg for reg in self.regions if f"coalition.{reg}" in col]
        coalition = np.zeros((len(ids), r), dtype=bool)
        for reg in partners:
            coalition[:, self.regions.index(reg)] = values[:, col[f"coalition.{reg}"]] > 0.5
        onset = np.rint(values[:, col["onset"]]).astype(np.int64)
        dur = values[:, col["duration"]]
        end = np.where(dur < 0, NEVER, onset + np.rint(np.maximum(dur, 0.0)).astype(np.int64))
        b = len(ids) * n_pol
        base = ShockBatch.quiet(bl, b, events=1, projects=max(len(self.projects), 1))
        ario = Ario(
            alpha_max=rep(values[:, col["ario.alpha_max"]]), alpha_tau=rep(values[:, col["ario.alpha_tau"]]),
            psi=rep(values[:, col["ario.psi"]]), inventory_tau=rep(values[:, col["ario.inventory_tau"]]),
            inventory_days=rep(np.repeat(values[:, col["ario.inventory_days"]][:, None], s, axis=1)),
        )  # fmt: skip
        shocks = replace(
            base, target=self.target,
            embargo=rep(embargo_links(self.target, coalition, per("import_ban", self.sectors),
                                      per("export_ban", self.sectors))),
            sanction_onset=rep(onset), sanction_end=rep(end),
            leakage=rep(per("leakage", self.sectors)), leakage_premium=rep(per("leakage_premium", self.sectors)),
            substitutability=rep(per("substitutability", self.sectors)),
            substitution_tau=rep(per("substitution_tau", self.sectors)), ario=ario,
        )  # fmt: skip
        friendly = np.zeros((b, r), dtype=bool)
        ct = {k: np.zeros(b) for k in ("capacity", "efficiency", "discount", "lag", "tau")}
        ct["tau"][:] = 90.0
        weight, speedup = np.ones(b), np.ones(b)
        p_slots = max(len(self.projects), 1)
        proj = {k: np.zeros((b, p_slots)) for k in ("capacity", "online", "ramp", "success", "capex", "industry")}
        x0 = bl.x0
        for k, pol in enumerate(self.policies):
            rows = np.arange(len(ids)) * n_pol + k
            weight[rows], speedup[rows] = pol.cooperation_weight, pol.cooperation_speedup
            if pol.counter_trade is not None:
                c = pol.counter_trade
                cols = np.array([self.regions.index(reg) for reg in c.friendly], dtype=np.int64)
                friendly[np.ix_(rows, cols)] = True
                for key in ("capacity", "efficiency", "discount"):
                    ct[key][rows] = values[:, col[f"policy.{pol.name}.counter_trade.{key}"]]
                ct["lag"][rows], ct["tau"][rows] = c.lag_days, c.ramp_days
            for j, p in enumerate(self.projects):
                f = self.project_industry[j]
                proj["industry"][rows, j] = f
                if p.name not in pol.projects:
                    continue
                daily = p.capacity / 365.0 if p.capacity > 0 else p.capacity_share * x0[f]
                lead = np.rint(values[:, col[f"project.{p.name}.lead_time_years"]] * 365.0).astype(np.int64)
                proj["capacity"][rows, j] = daily
                proj["online"][rows, j] = onset + lead
                proj["ramp"][rows, j] = p.ramp_days
                proj["success"][rows, j] = values[:, col[f"project.{p.name}.success"]]
                proj["capex"][rows, j] = p.capex
        return replace(
            shocks, friendly=friendly, ct_capacity=ct["capacity"], ct_efficiency=ct["efficiency"],
            ct_discount=ct["discount"], ct_lag=ct["lag"].astype(np.int64), ct_tau=ct["tau"], coop_weight=weight,
            coop_speedup=speedup, proj_industry=proj["industry"].astype(np.int64), proj_capacity=proj["capacity"],
            proj_online=proj["online"].astype(np.int64), proj_ramp=proj["ramp"].astype(np.int64),
            proj_success=proj["success"] > 0.5, proj_capex=proj["capex"],
        )  # fmt: skip

    def run(self, ids: NDArray[np.int64]) -> tuple[pa.RecordBatch, pa.RecordBatch]:
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
        for name in RESULT_SCHEMA.names[3:]:
            if name == "recovery_day":
                day = out.recovery_day.reshape(rows)
                columns[name] = pa.array(day.astype(np.int32), mask=day < 0, type=pa.int32())
            else:
                columns[name] = out.metrics[name].reshape(rows)
        results = pa.RecordBatch.from_pydict(columns, schema=RESULT_SCHEMA)
        p_cols: dict[str, Any] = {
            "scenario_id": np.repeat(ids, n_pol),
            "policy": np.tile(np.array(policy_names, dtype=object), len(ids)),
        }
        for j, name in enumerate(self.names):
            p_cols[name] = np.repeat(values[:, j], n_pol)
        params = pa.RecordBatch.from_pydict(p_cols, schema=params_schema(list(self.names)))
        return results, params
