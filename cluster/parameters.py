"""Every scenario parameter, declared once.

A ``Param`` says where a number lives in a config (its table and key), its unit, default and bounds, what it
varies over (one value per scenario, per sector, per partner; per project or per policy by its table), and, for
the parameters that go straight into the core, which ``ShockBatch`` field it sets. From this one table come:

* the config keys each table accepts and their validation (``cluster.config``);
* the columns of the parameters table of a run, their order and names (``column``);
* the listing of ``shock validate`` and the config reference in ``docs/config.md`` (``reference_markdown``).

Adding a lever is one declaration here, its use in the core, and its test (``docs/architecture.md``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

#: The longest horizon, and the largest day count (an onset, a duration, a time constant, a lag), a config may
#: give: 100,000 days (about 274 years). Beyond it day counts overflow the core's integer days and its buffers.
MAX_DAYS = 100_000
#: The largest multiple a factor without an upper bound may take (a premium, a speed-up, a share of baseline
#: trade or output), and the largest multiple of the economy's whole annual output a project may add or spend:
#: beyond it the core's flows overflow.
MAX_FACTOR = 1e6

__all__ = [
    "MAX_DAYS",
    "MAX_FACTOR",
    "PARAMETERS",
    "SECTIONS",
    "Param",
    "column",
    "config_reference",
    "declared",
    "practical_limit",
    "reference_markdown",
]

#: What a parameter varies over inside its table: one value per scenario, or one per sector / partner.
Over = Literal["scenario", "sector", "partner"]
#: ``dist``: any distribution (drawn per scenario, recorded in the parameters table); ``probability``: a
#: probability in [0, 1] of a 0/1 event drawn per scenario (recorded as 0 or 1); ``number`` / ``integer``: a
#: plain value fixed for the run (a policy choice or a unit size; not drawn, not recorded).
Kind = Literal["dist", "probability", "number", "integer"]

#: The config tables that hold parameters, and how their recorded columns are named.
SECTIONS: dict[str, str] = {
    "package": "[sanctions] or [sanctions.packages.NAME]",
    "sanctions": "[sanctions]",
    "ario": "[ario]",
    "project": "[projects.NAME]",
    "counter_trade": "[policies.NAME] counter_trade = {...}",
    "cooperation": "[policies.NAME] cooperation = {...}",
    "prices": "[prices]",
    "demand": "[demand.NAME]",
    "adaptation": "[adaptation]",
}


@dataclass(frozen=True)
class Param:
    """One scenario parameter: where it lives, its unit, default, bounds and meaning."""

    section: str  # a key of SECTIONS
    key: str
    unit: str
    default: float | None  # None: see ``doc`` (no default value: "forever", or taken from the economy's tags)
    doc: str
    low: float = -math.inf
    high: float = math.inf
    over: Over = "scenario"
    kind: Kind = "dist"
    #: The ``ShockBatch`` field (``group.field``) the drawn value sets as it is; None where the plan derives
    #: the core's input from it (onset and duration -> the sanction window, bans and coalition -> the embargo,
    #: project parameters -> the project slots).
    target: str | None = None
    #: True when the upper bound is the last day of the horizon (``days - 1``), not ``high``.
    within_horizon: bool = False
    #: True when the config may say "forever" (no end): the default then, recorded as -1.
    forever: bool = False
    #: True when the key may be absent, and is then not a parameter of its own (not drawn, not recorded).
    optional: bool = False
    #: The economy's region tag (``coalition``) that gives the values when the config omits the key; a table
    #: that lists some labels gives ``default`` to the others.
    tag_default: str | None = None
    #: The default in words, for the reference (where ``default`` is None and neither ``forever`` nor
    #: ``tag_default`` says it).
    default_doc: str | None = None

    @property
    def recorded(self) -> bool:
        """Drawn per scenario and recorded in the parameters table."""
        return self.kind in ("dist", "probability")


#: Every parameter, in the order of the parameters table's columns.
PARAMETERS: tuple[Param, ...] = (
    # --- a sanction package (the [sanctions] table itself, or each [sanctions.packages.NAME]) ----------------
    Param(
        "package",
        "onset",
        "day",
        0.0,
        "first day of the package, in days from day 0 (a date with [run] start: onset = 2022-02-24); a named"
        " package may start after the horizon, and then never acts",
        low=0.0,
        within_horizon=True,
    ),
    Param(
        "package",
        "duration",
        "days",
        None,
        'how long the package lasts: "forever" (the default) or days (or give end = a date or a day)',
        low=0.0,
        forever=True,
    ),
    Param(
        "package",
        "coalition",
        "probability",
        0.0,
        "probability that a partner joins the sanctioning coalition (key omitted: the economy's coalition tags)",
        over="partner",
        kind="probability",
        tag_default="coalition",
        low=0.0,
        high=1.0,
    ),
    Param(
        "package",
        "import_ban",
        "share",
        0.0,
        "share of the coalition's exports of the product to the package's targets that is banned",
        over="sector",
        low=0.0,
        high=1.0,
    ),
    Param(
        "package",
        "export_ban",
        "share",
        0.0,
        "share of the package's targets' exports of the product to the coalition that is banned",
        over="sector",
        low=0.0,
        high=1.0,
    ),
    Param(
        "package",
        "divertible",
        "share",
        1.0,
        "share of the exports this package blocks that friendly buyers can take instead (export diversion and"
        " counter-trade); 0 for goods tied to their buyers, such as pipeline gas",
        low=0.0,
        high=1.0,
    ),
    Param(
        "package",
        "leakage",
        "share",
        None,
        "this package's own leakage, where it differs from [sanctions] leakage (absent: [sanctions] leakage, the"
        " same draw for every package)",
        over="sector",
        low=0.0,
        high=1.0,
        optional=True,
        default_doc="[sanctions]'s",
    ),
    # --- the sanctions as a whole ([sanctions]) --------------------------------------------------------------
    Param(
        "sanctions",
        "leakage",
        "share",
        0.0,
        "share of a closed link that stays open through third countries (every package's, unless it has its own)",
        over="sector",
        low=0.0,
        high=1.0,
    ),
    Param(
        "sanctions",
        "leakage_premium",
        "share of value",
        0.0,
        "extra cost of goods routed through third countries",
        over="sector",
        low=0.0,
        target="sanctions.leakage_premium",
    ),
    Param(
        "sanctions",
        "substitutability",
        "share",
        0.0,
        "share of blocked orders that buyers can redirect to open suppliers, in the long run",
        over="sector",
        target="sanctions.substitutability",
        low=0.0,
        high=1.0,
    ),
    Param(
        "sanctions",
        "substitution_tau",
        "days",
        180.0,
        "time constant of the ramp-up of substitution",
        over="sector",
        low=1.0,
        target="sanctions.substitution_tau",
    ),
    # --- ARIO's behaviour -------------------------------------------------------------------------------
    Param(
        "ario",
        "alpha_max",
        "x baseline output",
        1.25,
        "largest overproduction an industry can reach",
        low=1.0,
        high=10.0,
        target="ario.alpha_max",
    ),
    Param(
        "ario",
        "alpha_tau",
        "days",
        365.0,
        "time constant of overproduction's rise and fall",
        low=1.0,
        target="ario.alpha_tau",
    ),
    Param(
        "ario",
        "psi",
        "share",
        0.8,
        "share of the inventory target below which production is constrained",
        low=1e-6,
        high=1.0,
        target="ario.psi",
    ),
    Param("ario", "inventory_tau", "days", 60.0, "time constant of restocking", low=1.0, target="ario.inventory_tau"),
    Param(
        "ario",
        "inventory_days",
        "days of use",
        90.0,
        "inventory target of every input (psi x it must be >= 1)",
        low=1.0,
        target="ario.inventory_days",
    ),
    # --- import-substitution projects (one set per [projects.NAME]) --------------------------------------
    Param(
        "project",
        "capacity_share",
        "share of baseline output",
        0.0,
        "capacity added, as a share of the industry's baseline output (give this or capacity)",
        low=0.0,
        kind="number",
    ),
    Param(
        "project",
        "capacity",
        "money per year",
        0.0,
        "capacity added, in the economy's unit per year",
        low=0.0,
        kind="number",
    ),
    Param(
        "project",
        "capex",
        "money",
        0.0,
        "capital spent on the project, evenly from signed until it comes online, as final demand of its region for"
        " the products of capex_sectors",
        low=0.0,
        kind="number",
    ),
    Param(
        "project",
        "signed",
        "day",
        None,
        "day the project is signed (a date with [run] start: signed = 2022-06-01); its lead time and its capex"
        " count from it; it may lie past the horizon (absent: the first sanction package's onset, drawn as it is)",
        low=0.0,
        kind="number",
        optional=True,
        default_doc="first package's onset",
    ),
    Param(
        "project",
        "lead_time_years",
        "years",
        0.0,
        "years from signed (absent: the sanctions' onset) until it produces",
        low=0.0,
    ),
    Param(
        "project",
        "success",
        "probability",
        1.0,
        "probability that the project comes online",
        kind="probability",
        low=0.0,
        high=1.0,
    ),
    Param("project", "ramp_days", "days", 0.0, "days from first output to full capacity", low=0.0, kind="integer"),
    # --- counter-trade (barter) channels of a policy ---------------------------------------------------------
    Param(
        "counter_trade",
        "capacity",
        "share of baseline trade",
        0.02,
        "most the channel moves each way a day, as a share of the targets' baseline trade with friendly partners",
        low=0.0,
        target="counter_trade.capacity",
    ),
    Param(
        "counter_trade",
        "efficiency",
        "share",
        1.0,
        "share of the blocked exports that friendly partners take at full ramp",
        target="counter_trade.efficiency",
        low=0.0,
        high=1.0,
    ),
    Param(
        "counter_trade",
        "discount",
        "share of value",
        0.0,
        "price cut on bartered exports",
        target="counter_trade.discount",
        low=0.0,
        high=1.0,
    ),
    Param(
        "counter_trade", "lag_days", "days", 0.0, "days before export proceeds can buy imports", low=0.0, kind="integer"
    ),
    Param(
        "counter_trade", "ramp_days", "days", 90.0, "time constant of the channel's ramp-up", low=1e-9, kind="number"
    ),
    # --- cooperation between the domestic regions ------------------------------------------------------------
    Param(
        "cooperation",
        "weight",
        "x",
        1.0,
        "weight of domestic suppliers in a domestic buyer's redirected orders",
        low=1.0,
        kind="number",
    ),
    Param(
        "cooperation",
        "speedup",
        "x",
        1.0,
        "how many times faster domestic buyers' substitution ramps up",
        low=1.0,
        kind="number",
    ),
    # --- world prices and the price of leaked exports ([prices]) -------------------------------------------------
    Param(
        "prices",
        "level",
        "relative change",
        0.0,
        "change of the product's world price at its peak (0.4 = +40%); prices value flows, they move no quantity",
        over="sector",
        low=-0.9,
        high=10.0,
        target="prices.level",
    ),
    Param(
        "prices",
        "onset",
        "day",
        0.0,
        "day (or date) the world prices change",
        low=0.0,
        within_horizon=True,
        target="prices.onset",
    ),
    Param(
        "prices",
        "tau",
        "days",
        180.0,
        "time constant of the prices' return to the baseline",
        low=1.0,
        target="prices.tau",
    ),
    Param(
        "prices",
        "export_discount",
        "share of value",
        0.0,
        "price cut on the targets' exports that reach coalition buyers through leakage",
        over="sector",
        low=0.0,
        high=1.0,
        target="prices.export_discount",
    ),
    # --- final-demand paths ([demand.NAME]) ---------------------------------------------------------------------
    Param(
        "demand",
        "change",
        "relative change",
        0.0,
        "change of the final demand of the shock's regions for its sectors' products (0.1 = +10%)",
        low=-1.0,
        high=10.0,
    ),
    Param("demand", "onset", "day", 0.0, "day (or date) the change starts (it may lie past the horizon)", low=0.0),
    Param(
        "demand",
        "duration",
        "days",
        None,
        'how long the change lasts: "forever" (the default) or days (or give end = a date or a day)',
        low=0.0,
        forever=True,
    ),
    Param(
        "demand", "ramp_days", "days", 0.0, "days over which the change phases in, linearly", low=0.0, kind="integer"
    ),
    # --- how markets adapt: export diversion to friendly buyers, supplier expansion ([adaptation]) ---------------
    Param(
        "adaptation",
        "diversion",
        "share",
        0.0,
        "share of the targets' blocked exports of the product that friendly buyers take at full ramp",
        over="sector",
        low=0.0,
        high=1.0,
        target="adaptation.diversion",
    ),
    Param(
        "adaptation",
        "diversion_tau",
        "days",
        180.0,
        "time constant of the ramp-up of export diversion, from the first onset",
        over="sector",
        low=1.0,
        target="adaptation.diversion_tau",
    ),
    Param(
        "adaptation",
        "absorption",
        "share",
        1.0,
        "most of the friendly buyers' orders for the product from their other foreign suppliers that diversion may"
        " displace",
        over="sector",
        low=0.0,
        high=1.0,
        target="adaptation.absorption",
    ),
    Param(
        "adaptation",
        "expansion",
        "share",
        0.0,
        "share of a supplier's excess demand over its baseline capacity that it builds new capacity for",
        over="sector",
        low=0.0,
        high=1.0,
        target="adaptation.expansion",
    ),
    Param(
        "adaptation",
        "expansion_tau",
        "days",
        365.0,
        "time constant of suppliers' capacity expansion",
        over="sector",
        low=1.0,
        target="adaptation.expansion_tau",
    ),
)


def declared(section: str) -> tuple[Param, ...]:
    """The parameters of one config table, in declaration order."""
    return tuple(p for p in PARAMETERS if p.section == section)


def column(param: Param, *, owner: str | None = None, label: str | None = None) -> str:
    """The parameters-table column of one drawn value.

    ``owner`` is the package, project or policy the value belongs to, ``label`` the sector or partner. Sanctions
    columns are bare (``onset``, ``leakage.machinery``, ``substitutability.metals``), those of a named package
    carry its name (``package.NAME.onset``), the others their table (``ario.psi``, ``project.NAME.success``,
    ``policy.NAME.counter_trade.capacity``).
    """
    prefix = {
        "package": "" if owner is None else f"package.{owner}.",
        "sanctions": "",
        "ario": "ario.",
        "project": f"project.{owner}.",
        "counter_trade": f"policy.{owner}.counter_trade.",
        "cooperation": f"policy.{owner}.cooperation.",
        "prices": "prices.",
        "demand": f"demand.{owner}.",
        "adaptation": "adaptation.",
    }
    name = prefix[param.section] + param.key
    return f"{name}.{label}" if label is not None else name


def practical_limit(p: Param) -> float:
    """The practical upper bound of a parameter: ``MAX_DAYS`` for day counts, ``MAX_FACTOR`` for factors and
    shares without a declared bound (money is checked against the economy's output, project by project)."""
    if p.unit in ("day", "days", "days of use"):
        return MAX_DAYS
    if p.unit == "years":
        return MAX_DAYS / 365
    if p.unit.startswith("money"):
        return math.inf
    return MAX_FACTOR


def _bounds(p: Param) -> str:
    limit = practical_limit(p)
    if p.within_horizon:
        high = "last day"
    elif p.high < math.inf:
        high = f"{p.high:g}"
    elif limit < math.inf:  # unbounded in principle; refused beyond the practical limit
        high = f"{limit:,.0f}"
    else:
        high = f"{MAX_FACTOR:,.0f} x annual output"
    low = "-∞" if p.low == -math.inf else f"{p.low:g}"
    return f"[{low}, {high}]"


def reference_markdown() -> str:
    """The config reference of ``docs/config.md``, one table per config table."""
    kinds = {"dist": "distribution", "probability": "probability", "number": "number", "integer": "whole number"}
    lines: list[str] = []
    for section, where in SECTIONS.items():
        lines += [
            f"### `{where}`",
            "",
            "| key | takes | unit | default | bounds | one value per | meaning |",
            "|---|---|---|---|---|---|---|",
        ]
        for p in declared(section):
            default = (
                p.default_doc
                if p.default_doc is not None
                else "forever"
                if p.forever
                else "economy's tags"
                if p.tag_default
                else f"{p.default:g}"
            )
            owners = {
                "project": "project",
                "counter_trade": "policy",
                "cooperation": "policy",
                "package": "package",
                "demand": "demand shock",
            }
            owner = owners.get(section)
            per = ", ".join(x for x in (p.over, owner) if x) if p.recorded else f"{owner or 'run'} (fixed)"
            lines.append(f"| `{p.key}` | {kinds[p.kind]} | {p.unit} | {default} | {_bounds(p)} | {per} | {p.doc} |")
        lines.append("")
    return "\n".join(lines)


_REFERENCE_HEAD = """# Config reference

Generated by `python scripts/config_reference.py` from the parameter declarations in `cluster/parameters.py`
(one table; config validation, the parameters table of a run and `shock validate` read the same declarations).
Do not edit the tables by hand: edit the declarations and run the script; a test fails when this file is stale.

A config is a TOML file with the tables `[run]`, `[economy]`, `[sanctions]`, `[ario]` (optional),
`[prices]` (optional), `[demand.NAME]` (optional), `[adaptation]` (optional), `[projects.NAME]` (optional) and
`[policies.NAME]`; `configs/smoke.toml`, `configs/eu_embargo.toml` and `configs/replay_2022.toml` are worked
examples.

- `[run]`: `name`, `seed`, `draws`, `days`, `design` (`monte_carlo`, `latin_hypercube`, `sobol`, `saltelli`: draws
  N x (parameters + 2) with N a power of 2, for `shock sensitivity`'s Sobol' indices), `batch_size`, `out`,
  `start` (the date of day 0, e.g. `start = 2022-01-01`: results by calendar year and quarter, and dates in
  packages; without it, periods count 365-day years from day 0).
- `[economy]`: `id` (an embedded economy) or `path` (a table), `kind`, `concordance`, `domestic = [...]`,
  `targets = [...]` (default: the domestic regions).
- `[sanctions]`: the run-level sanction parameters below, and either the keys of *one* package (the table is
  then the package: `onset`, `duration` or `end`, `targets`, `coalition`, `import_ban`, `export_ban`,
  `divertible`, `leakage`) or `[sanctions.packages.NAME]` tables, one per package, each with its own dates and
  bans; package keys written in `[sanctions]` itself are then the defaults of every package (e.g. the
  coalition). A package's `targets = [...]` (region labels or country codes, each a target of the run; default:
  every target, `[economy] targets`) are the targets it applies to: its bans close only their links (a
  Belarus-only package closes no link of Russia's regions). A package's `onset` and
  `end` may be dates (with `[run] start`); `end` is the first day the package no longer applies. On a link
  closed by several packages, the closed shares combine as independent bans: 1 - (1 - e1)(1 - e2)...
- `[demand.NAME]`: a change of final demand over time: `regions` (region labels or country codes; default: the
  targets), `sectors` (default: all), `end` (a date or a day, instead of `duration`) and the parameters below.
- `[projects.NAME]`: `region`, `sector`, `capex_sectors = {sector = share, ...}` (the products the capex buys:
  shares > 0 summing to 1, each a product the project's region has baseline final demand for; default
  `{construction = 0.6, machinery = 0.4}` when the economy has both sectors, else required with capex > 0),
  `signed` (a day, or a date with `[run] start`; default: the first sanction package's onset: the lead time and
  the capex spending count from it) and the parameters below.
- `[adaptation]`: how markets adapt to the sanctions, for every policy alike: `buyers = [...]` (the friendly
  buyers that take the targets' diverted exports: region labels, no target; default: the economy's friendly
  regions that are not targets) and the parameters below (export diversion, supplier expansion). Without the
  table the run has neither, and no `adaptation.*` columns.
- `[policies.NAME]`: `counter_trade = {...}` (plus `friendly = [...]`, default: the economy's friendly partners),
  `projects = [...]`, `cooperation = {...}`, `include = [other policies]`.

**Takes**: a *distribution* is a number or one of `{uniform = [a, b]}`, `{triangular = [a, mode, b]}`,
`{beta = [a, b]}` (optionally `low`, `high`), `{lognormal = {median = m, sigma = s}}`, `{bernoulli = p}`,
`{categorical = {values = [...], weights = [...]}}`; it is drawn per scenario and recorded in the run's
`params/` table. A *probability* governs a 0/1 event drawn per scenario. A *number* is fixed for the run.
**One value per**: a parameter that varies over sectors (partners) takes a table keyed by sector (partner)
labels with `default` for the others, e.g. `leakage = {default = 0.1, machinery = {uniform = [0.2, 0.5]}}`.

## Parameters
"""


def config_reference() -> str:
    """The whole of ``docs/config.md``: what a config holds, then ``reference_markdown``."""
    return _REFERENCE_HEAD + "\n" + reference_markdown()
