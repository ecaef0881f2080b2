"""Per-scenario inputs of the core: arrays with a leading batch axis B, drawn elsewhere, grouped by lever.

Each group (``CapacityEvents``, ``Sanctions``, ``Cooperation``, ``CounterTrade``, ``Projects``, ``Prices``,
``Demand``, ``Ario``) declares its fields once, with their shape, dtype, allowed range and the value of a quiet
(unshocked) scenario; shape checks, range checks, sub-batches and the quiet batch are derived from those
declarations.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields, replace
from typing import Any, ClassVar, Self

import numpy as np
from numpy.typing import NDArray

from cluster.errors import ShapeError

from .baseline import Baseline

__all__ = [
    "NEVER",
    "Adaptation",
    "Ario",
    "CapacityEvents",
    "Cooperation",
    "CounterTrade",
    "Demand",
    "Extensions",
    "Prices",
    "Projects",
    "Sanctions",
    "ShockBatch",
    "embargo_links",
]

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]
B8 = NDArray[np.bool_]

#: A day that never comes: sanctions "for good" end at ``NEVER``.
NEVER = np.iinfo(np.int64).max // 4


@dataclass(frozen=True)
class Extensions:
    """Which sanctions extensions of the model are switched on (all off = plain ARIO, as BoARIO).

    Switches are static for a run, so the numeric path never depends on which scenarios share a batch.
    ``substitution``, ``leakage``, ``counter_trade``, ``cooperation`` and ``diversion`` act on closed links and
    need ``sanctions``. ``diversion`` (the targets' blocked exports taken by friendly buyers) and ``expansion``
    (suppliers raising capacity toward persistent excess demand) do nothing while their ``ShockBatch.adaptation``
    parameters are 0.
    """

    sanctions: bool = True
    leakage: bool = True
    substitution: bool = True
    counter_trade: bool = True
    projects: bool = True
    cooperation: bool = True
    diversion: bool = True
    expansion: bool = True

    @classmethod
    def none(cls) -> Extensions:
        """Every extension off: the plain ARIO model."""
        return cls(False, False, False, False, False, False, False, False)

    def __post_init__(self) -> None:
        needs = ("leakage", "substitution", "counter_trade", "cooperation", "diversion")
        if not self.sanctions and any(getattr(self, name) for name in needs):
            on = [name for name in needs if getattr(self, name)]
            raise ShapeError(f"extensions {on} act on closed links and need sanctions=True")


# ---------------------------------------------------------------------------------------- declarations --
def _arr(
    shape: tuple[str, ...],
    quiet: float | bool = 0.0,
    *,
    dtype: type = np.float64,
    low: float = -math.inf,
    high: float = math.inf,
    low_open: bool = False,
) -> Any:
    """Declare an array field: its shape over the named axes (B, K, R, S, E, P, J), dtype, range and quiet value."""
    return field(
        metadata={"shape": shape, "dtype": dtype, "quiet": quiet, "low": low, "high": high, "low_open": low_open}
    )


def _int(shape: tuple[str, ...], quiet: int = 0, *, low: float = 0) -> Any:
    return _arr(shape, quiet, dtype=np.int64, low=low)


def _flag(shape: tuple[str, ...]) -> Any:
    return _arr(shape, False, dtype=np.bool_)


class _Group:
    """Shared behaviour of a group of per-scenario arrays (leading axis B), derived from the declarations."""

    #: The group's name in messages (``ShockBatch.<name>.<field>``).
    NAME: ClassVar[str] = ""

    @classmethod
    def quiet(cls, sizes: dict[str, int]) -> Self:
        """The group of a scenario with no shock, for axis sizes ``sizes`` (B, K, R, S, E, P, J)."""
        values = {}
        for f in fields(cls):  # type: ignore[arg-type]
            m = f.metadata
            values[f.name] = np.full(tuple(sizes[a] for a in m["shape"]), m["quiet"], dtype=m["dtype"])
        return cls(**values)

    def take(self, index: Any) -> Self:
        """The scenarios ``index`` (an index array or a slice along B)."""
        return replace(self, **{f.name: getattr(self, f.name)[index] for f in fields(self)})  # type: ignore[arg-type, misc, type-var]

    def check(self, sizes: dict[str, int]) -> None:
        """Shapes and ranges against the declarations; ``ShapeError`` naming the first bad field."""
        for f in fields(self):  # type: ignore[arg-type]
            m = f.metadata
            value = np.asarray(getattr(self, f.name))
            name = f"ShockBatch.{self.NAME}.{f.name}"
            expected = tuple(sizes[a] for a in m["shape"])
            if value.shape != expected:
                raise ShapeError(f"{name} has shape {value.shape}, expected {expected} {m['shape']}")
            if value.size == 0 or m["dtype"] is np.bool_:
                continue
            low, high = m["low"], m["high"]
            too_low = np.any(value <= low) if m["low_open"] else np.any(value < low)
            if too_low or np.any(value > high) or np.any(np.isnan(value)):
                bracket = "(" if m["low_open"] else "["
                raise ShapeError(f"{name} must lie in {bracket}{low:g}, {high:g}]")


@dataclass(frozen=True)
class CapacityEvents(_Group):
    """Capacity events (BoARIO's ``EventKapitalRecover`` with linear recovery), shapes (B, E).

    Industry ``industry`` loses the share ``share`` of its capacity from day ``onset``; after ``duration`` days
    it recovers linearly over ``recovery`` days. Unused slots have share 0.
    """

    NAME: ClassVar[str] = "events"
    industry: I64 = _int(("B", "E"))
    share: F64 = _arr(("B", "E"), low=0.0, high=1.0)
    onset: I64 = _int(("B", "E"))
    duration: I64 = _int(("B", "E"))
    recovery: I64 = _int(("B", "E"))


@dataclass(frozen=True)
class Sanctions(_Group):
    """K sanction packages per scenario (K >= 1, the same K for the whole batch), each with its own dates.

    Package p is in force from ``onset[b, p]`` until ``end[b, p]`` (exclusive; ``NEVER`` for good), shapes
    (B, K); while in force it closes the share ``embargo[b, p, ro, k, rd]`` (B, K, R, S, R) of the link from
    origin region ro to destination region rd for product k, of which ``leakage[b, p, k]`` (B, K, S) stays open
    through third countries. Packages in force together combine as independent bans on shares of a link
    (``docs/model.md``, link availability). Per scenario, whatever the package: leaked goods cost a premium
    ``leakage_premium[b, k]`` (a share of the value); of the orders a buyer can no longer place, the share
    ``substitutability[b, k]`` x (1 - exp(-days since the first onset / ``substitution_tau[b, k]``)) is
    redirected to open suppliers. Of the exports package p closes, the share ``divertible[b, p]`` (B, K) can be
    taken by friendly buyers instead (``Adaptation``); 0 for goods tied to their buyers, such as pipeline gas.
    """

    NAME: ClassVar[str] = "sanctions"
    onset: I64 = _int(("B", "K"))
    end: I64 = _int(("B", "K"), NEVER)
    embargo: F64 = _arr(("B", "K", "R", "S", "R"), low=0.0, high=1.0)
    leakage: F64 = _arr(("B", "K", "S"), low=0.0, high=1.0)
    leakage_premium: F64 = _arr(("B", "S"), low=0.0)
    substitutability: F64 = _arr(("B", "S"), low=0.0, high=1.0)
    substitution_tau: F64 = _arr(("B", "S"), 180.0, low=0.0, low_open=True)
    divertible: F64 = _arr(("B", "K"), 1.0, low=0.0, high=1.0)


@dataclass(frozen=True)
class Cooperation(_Group):
    """Redirected orders of a domestic buyer weight domestic suppliers by ``weight`` (B,) >= 1 and ramp
    ``speedup`` (B,) >= 1 times faster."""

    NAME: ClassVar[str] = "cooperation"
    weight: F64 = _arr(("B",), 1.0, low=1.0)
    speedup: F64 = _arr(("B",), 1.0, low=1.0)


@dataclass(frozen=True)
class CounterTrade(_Group):
    """Counter-trade (barter) with ``friendly`` (B, R) partners.

    They buy the target regions' blocked exports with efficiency ``efficiency`` (ramping with ``tau`` days) at
    a discount ``discount``; the proceeds, available after ``lag`` days, buy the target regions' blocked imports
    from friendly suppliers. The channel moves at most ``capacity`` x (baseline daily trade between targets and
    friendly partners) each way a day. Shapes (B,) but ``friendly``.
    """

    NAME: ClassVar[str] = "counter_trade"
    friendly: B8 = _flag(("B", "R"))
    capacity: F64 = _arr(("B",), low=0.0)
    efficiency: F64 = _arr(("B",), low=0.0, high=1.0)
    discount: F64 = _arr(("B",), low=0.0, high=1.0)
    tau: F64 = _arr(("B",), 90.0, low=0.0, low_open=True)
    lag: I64 = _int(("B",))


@dataclass(frozen=True)
class Projects(_Group):
    """Import-substitution projects, shapes (B, P) but ``capex_mix``: ``capacity`` of daily output added to
    industry ``industry`` from day ``online``, ramping linearly over ``ramp`` days, if ``success``.

    ``capex`` (money) is spent in any case, evenly over the build, days ``signed`` .. ``online`` - 1, as final
    demand of the project's region (the region of ``industry``) for the products in the shares ``capex_mix``
    (B, P, S), rows summing to 1 (construction and machinery, typically).
    """

    NAME: ClassVar[str] = "projects"
    industry: I64 = _int(("B", "P"))
    capacity: F64 = _arr(("B", "P"), low=0.0)
    online: I64 = _int(("B", "P"))
    ramp: I64 = _int(("B", "P"))
    success: B8 = _flag(("B", "P"))
    capex: F64 = _arr(("B", "P"), low=0.0)
    signed: I64 = _int(("B", "P"), low=-math.inf)  # before day 0: the part spent before the run is not counted
    capex_mix: F64 = _arr(("B", "P", "S"), low=0.0, high=1.0)


@dataclass(frozen=True)
class Prices(_Group):
    """World prices of the products, and the price cut on the targets' leaked exports.

    The world price of product k, relative to the baseline, jumps by ``level[b, k]`` (B, S) on day
    ``onset[b]`` (0.4 = +40%, at least -0.9) and decays back with the time constant ``tau[b]`` days:
    p_k(t) = 1 + level_k exp(-(t - onset) / tau) from the onset, 1 before. ``export_discount[b, k]`` (B, S) in
    [0, 1] is the share of the price the targets forgo on their exports that still reach coalition buyers
    through leakage. Prices value flows (real income, trade by partner); they never move quantities
    (``docs/model.md``, prices, terms of trade and real income).
    """

    NAME: ClassVar[str] = "prices"
    level: F64 = _arr(("B", "S"), low=-0.9)
    onset: I64 = _int(("B",))
    tau: F64 = _arr(("B",), 180.0, low=0.0, low_open=True)
    export_discount: F64 = _arr(("B", "S"), low=0.0, high=1.0)


@dataclass(frozen=True)
class Demand(_Group):
    """J final-demand shocks per scenario (J >= 0, the same J for the whole batch), shapes (B, J) but ``change``.

    Shock j changes the final demand of destination region r for product k by the share ``change[b, j, r, k]``
    (B, J, R, S), at least -1 (0.1 = +10%), from day ``onset[b, j]`` until ``end[b, j]`` (exclusive; ``NEVER``
    for good), phasing in linearly over ``ramp[b, j]`` days: a_j(t) = min(1, (t - onset + 1) / max(ramp, 1)) in
    the window, 0 outside. The baseline final demand of every origin for (r, k) is multiplied by
    mu[r, k](t) = max(0, 1 + sum_j change_j[r, k] a_j(t)) (``docs/model.md``, final-demand paths).
    """

    NAME: ClassVar[str] = "demand"
    change: F64 = _arr(("B", "J", "R", "S"), low=-1.0)
    onset: I64 = _int(("B", "J"))
    end: I64 = _int(("B", "J"), NEVER)
    ramp: I64 = _int(("B", "J"))


@dataclass(frozen=True)
class Adaptation(_Group):
    """How markets adapt to the sanctions, per product k (shapes (B, S) but ``buyers``).

    *Export diversion*: friendly buyers ``buyers`` (B, R) take the share ``diversion[b, k]`` x (1 - exp(-days
    since the first onset / ``diversion_tau``)) of the target regions' blocked exports of k (the orders their
    coalition buyers can no longer place), shifting that much of their orders for k away from their other
    foreign suppliers, at most the share ``absorption[b, k]`` of those orders; the targets sell it at
    ``Prices.export_discount``. Counter-trade exports join this flow (the barter-settled part of it), and the
    channel's partners (``CounterTrade.friendly``) are among its buyers.

    *Supplier expansion*: a supplier whose demand exceeds its baseline capacity builds capacity for the share
    ``expansion[b, k]`` of the excess, with the time constant ``expansion_tau[b, k]`` days (faster by
    ``Cooperation.speedup`` for domestic suppliers), on the days its capacity is what holds production back;
    built capacity is kept, and fills orders without drawing more of them (``docs/model.md``).
    """

    NAME: ClassVar[str] = "adaptation"
    buyers: B8 = _flag(("B", "R"))
    diversion: F64 = _arr(("B", "S"), low=0.0, high=1.0)
    diversion_tau: F64 = _arr(("B", "S"), 180.0, low=0.0, low_open=True)
    absorption: F64 = _arr(("B", "S"), 1.0, low=0.0, high=1.0)
    expansion: F64 = _arr(("B", "S"), low=0.0, high=1.0)
    expansion_tau: F64 = _arr(("B", "S"), 365.0, low=0.0, low_open=True)


@dataclass(frozen=True)
class Ario(_Group):
    """ARIO parameters per scenario (shape (B,), ``inventory_days`` (B, S)); the quiet values are BoARIO's
    defaults: alpha_max 1.25, tau_alpha 365 days, psi 0.8, tau_inv 60 days, 90 days of stock."""

    NAME: ClassVar[str] = "ario"
    alpha_max: F64 = _arr(("B",), 1.25, low=1.0)
    alpha_tau: F64 = _arr(("B",), 365.0, low=0.0, low_open=True)
    psi: F64 = _arr(("B",), 0.8, low=0.0, high=1.0, low_open=True)
    inventory_tau: F64 = _arr(("B",), 60.0, low=0.0, low_open=True)
    inventory_days: F64 = _arr(("B", "S"), 90.0, low=1.0, low_open=True)

    @classmethod
    def default(cls, batch: int, n_sectors: int) -> Ario:
        """BoARIO's defaults for ``batch`` scenarios."""
        return cls.quiet({"B": batch, "S": n_sectors})


#: The groups of a ``ShockBatch``, attribute name -> type, in the order of ``Extensions``, then the prices (which
#: no switch turns off: they never move quantities), the final-demand paths (no switch either) and ARIO last.
GROUPS: dict[str, type[_Group]] = {
    "events": CapacityEvents,
    "sanctions": Sanctions,
    "cooperation": Cooperation,
    "counter_trade": CounterTrade,
    "projects": Projects,
    "prices": Prices,
    "demand": Demand,
    "adaptation": Adaptation,
    "ario": Ario,
}


@dataclass(frozen=True)
class ShockBatch:
    """Everything that differs between the B scenarios of a batch, one group per lever.

    ``target`` (R,) are the regions under sanctions (shared by the batch). Shapes use B (batch), K (sanction
    packages), R (regions), S (sectors/products), E (capacity events), P (projects), J (final-demand shocks).
    Days count from 0; a
    quantity "from day d" applies to the step with index d. Each group's docstring says what its fields mean.
    """

    target: B8
    events: CapacityEvents
    sanctions: Sanctions
    cooperation: Cooperation
    counter_trade: CounterTrade
    projects: Projects
    prices: Prices
    demand: Demand
    adaptation: Adaptation
    ario: Ario = field(repr=False)

    @property
    def batch(self) -> int:
        """Number of scenarios B."""
        return int(self.sanctions.onset.shape[0])

    @classmethod
    def quiet(
        cls,
        baseline: Baseline,
        batch: int,
        *,
        events: int = 1,
        projects: int = 1,
        packages: int = 1,
        demand: int = 1,
    ) -> ShockBatch:
        """A batch with no shock at all (the steady state), to be edited with ``dataclasses.replace``; ``demand``
        is the number J of final-demand shocks (slots of change 0)."""
        if packages < 1:
            raise ShapeError(f"a batch needs at least one sanction package, got packages={packages}")
        if demand < 0:
            raise ShapeError(f"the number of demand shocks must be >= 0, got demand={demand}")
        sizes = {
            "B": batch,
            "K": packages,
            "R": baseline.n_regions,
            "S": baseline.n_sectors,
            "E": events,
            "P": projects,
            "J": demand,
        }
        groups = {name: group.quiet(sizes) for name, group in GROUPS.items()}
        return cls(target=np.zeros(baseline.n_regions, dtype=bool), **groups)  # type: ignore[arg-type]

    def take(self, index: Any) -> ShockBatch:
        """The sub-batch of scenarios ``index`` (an index array or slice along B)."""
        return replace(self, **{name: getattr(self, name).take(index) for name in GROUPS})

    def validate(self, baseline: Baseline) -> None:
        """Check shapes and ranges; raise ``ShapeError`` naming the first bad field."""
        r, n = baseline.n_regions, baseline.n
        if np.shape(self.target) != (r,):
            raise ShapeError(f"ShockBatch.target has shape {np.shape(self.target)}, expected ({r},)")
        onset = np.shape(self.sanctions.onset)
        k = onset[1] if len(onset) == 2 else 1  # any other shape is refused below, naming the field
        if k < 1:
            raise ShapeError("ShockBatch.sanctions needs at least one package (K >= 1)")
        sizes = {
            "B": self.batch,
            "K": k,
            "R": r,
            "S": baseline.n_sectors,
            "E": np.shape(self.events.share)[-1],
            "P": np.shape(self.projects.capacity)[-1],
            "J": np.shape(self.demand.onset)[-1],
        }
        for name in GROUPS:
            getattr(self, name).check(sizes)
        for name, value in (("events.industry", self.events.industry), ("projects.industry", self.projects.industry)):
            if value.size and (value.min() < 0 or value.max() >= n):
                raise ShapeError(f"ShockBatch.{name} must index industries 0..{n - 1}")
        spent = self.projects.capex > 0
        if np.any(spent & (np.abs(self.projects.capex_mix.sum(axis=2) - 1.0) > 1e-9)):
            raise ShapeError("ShockBatch.projects.capex_mix must sum to 1 over products for a project with capex")
        if np.any(spent & (self.projects.online < self.projects.signed)):
            raise ShapeError("ShockBatch.projects.online must be >= projects.signed, project by project")
        if np.any(self.sanctions.end < self.sanctions.onset):
            raise ShapeError("ShockBatch.sanctions.end must be >= sanctions.onset, package by package")
        if np.any(self.demand.end < self.demand.onset):
            raise ShapeError("ShockBatch.demand.end must be >= demand.onset, shock by shock")
        if np.any(self.ario.psi[:, None] * self.ario.inventory_days < 1 - 1e-12):
            raise ShapeError(
                "ShockBatch.ario: psi x inventory_days must be >= 1: the inventory constraint lets an industry use "
                "stock / (psi x days) a day, more than the stock itself below one day"
            )


def embargo_links(
    target: NDArray[np.bool_],
    coalition: NDArray[np.bool_],
    import_ban: NDArray[np.float64],
    export_ban: NDArray[np.float64],
) -> F64:
    """Share of each link closed by one sanction package, shape (..., R, S, R) ``[ro, k, rd]``.

    ``target`` (R,) are the sanctioned regions, ``coalition`` (..., R) the sanctioning partners;
    ``import_ban`` (..., S) closes coalition -> target links for product k (the targets' imports) and
    ``export_ban`` (..., S) closes target -> coalition links (the targets' exports); values in [0, 1].
    ``Sanctions.embargo`` stacks one such array per package on its axis K (e.g. ``np.stack(..., axis=1)``).
    """
    tgt = np.asarray(target, dtype=float)
    coal = np.asarray(coalition, dtype=float) * (1.0 - tgt)
    imp = np.asarray(import_ban, dtype=float)
    exp = np.asarray(export_ban, dtype=float)
    into = coal[..., :, None, None] * imp[..., None, :, None] * tgt[None, None, :]
    out = tgt[:, None, None] * exp[..., None, :, None] * coal[..., None, None, :]
    return np.clip(into + out, 0.0, 1.0)  # type: ignore[no-any-return]
