"""Per-scenario inputs of the core: arrays with a leading batch axis B, drawn elsewhere."""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from typing import Any

import numpy as np
from numpy.typing import NDArray

from cluster.errors import ShapeError

from .baseline import Baseline

__all__ = ["NEVER", "Ario", "Extensions", "ShockBatch", "embargo_links"]

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]
B8 = NDArray[np.bool_]

#: A day that never comes: sanctions "for good" end at ``NEVER``.
NEVER = np.iinfo(np.int64).max // 4


@dataclass(frozen=True)
class Extensions:
    """Which sanctions extensions of the model are switched on (all off = plain ARIO, as BoARIO).

    Switches are static for a run, so the numeric path never depends on which scenarios share a batch.
    ``substitution``, ``leakage``, ``counter_trade`` and ``cooperation`` act on closed links and need
    ``sanctions``.
    """

    sanctions: bool = True
    leakage: bool = True
    substitution: bool = True
    counter_trade: bool = True
    projects: bool = True
    cooperation: bool = True

    @classmethod
    def none(cls) -> Extensions:
        """Every extension off: the plain ARIO model."""
        return cls(False, False, False, False, False, False)

    def __post_init__(self) -> None:
        needs = ("leakage", "substitution", "counter_trade", "cooperation")
        if not self.sanctions and any(getattr(self, name) for name in needs):
            on = [name for name in needs if getattr(self, name)]
            raise ShapeError(f"extensions {on} act on closed links and need sanctions=True")


@dataclass(frozen=True)
class Ario:
    """ARIO parameters, per scenario (shape (B,) unless noted). Defaults are BoARIO's."""

    alpha_max: F64
    alpha_tau: F64
    psi: F64
    inventory_tau: F64
    inventory_days: F64  # (B, S)

    @classmethod
    def default(cls, batch: int, n_sectors: int) -> Ario:
        """BoARIO's defaults: alpha_max 1.25, tau_alpha 365 days, psi 0.8, tau_inv 60 days, 90 days of stock."""
        return cls(
            alpha_max=np.full(batch, 1.25),
            alpha_tau=np.full(batch, 365.0),
            psi=np.full(batch, 0.8),
            inventory_tau=np.full(batch, 60.0),
            inventory_days=np.full((batch, n_sectors), 90.0),
        )


def _zeros(*shape: int) -> F64:
    return np.zeros(shape, dtype=np.float64)


@dataclass(frozen=True)
class ShockBatch:
    r"""Everything that differs between the B scenarios of a batch.

    Shapes use B (batch), R (regions), S (sectors/products), E (capacity events), P (projects).
    Days count from 0; a quantity "from day d" applies to the step with index d.

    Capacity events (BoARIO's ``EventKapitalRecover`` with linear recovery): industry ``cap_industry``
    loses the share ``cap_share`` of its capacity from ``cap_onset``; after ``cap_duration`` days it
    recovers linearly over ``cap_recovery`` days. Unused slots have share 0.

    Sanctions: from ``sanction_onset`` (B,) until ``sanction_end`` (B,) (exclusive; ``NEVER`` for good),
    the share ``embargo[b, ro, k, rd]`` of the link from origin region ro to destination region rd for
    product k is closed; ``leakage[b, k]`` of a closed link stays open through third countries at a price
    premium ``leakage_premium[b, k]`` (a share of the value).

    Substitution: of the orders a buyer can no longer place, the share ``substitutability[b, k]`` x
    (1 - exp(-days since onset / ``substitution_tau[b, k]``)) is redirected to open suppliers.

    Cooperation: redirected orders of a domestic buyer weight domestic suppliers by ``coop_weight``
    (B,) >= 1 and ramp ``coop_speedup`` (B,) >= 1 times faster.

    Counter-trade: ``friendly`` (B, R) partners buy the target regions' blocked exports with efficiency
    ``ct_efficiency`` (ramping with ``ct_tau`` days) at a discount ``ct_discount``; the proceeds, available
    after ``ct_lag`` days, buy the target regions' blocked imports from friendly suppliers. The channel moves
    at most ``ct_capacity`` x (baseline daily trade between targets and friendly partners) each way a day.

    Projects: ``proj_capacity`` (B, P) of daily output added to industry ``proj_industry`` from day
    ``proj_online``, ramping linearly over ``proj_ramp`` days, if ``proj_success``; ``proj_capex`` is spent
    in any case.
    """

    target: B8  # (R,) regions under sanctions
    cap_industry: I64
    cap_share: F64
    cap_onset: I64
    cap_duration: I64
    cap_recovery: I64
    sanction_onset: I64
    sanction_end: I64
    embargo: F64  # (B, R, S, R)
    leakage: F64
    leakage_premium: F64
    substitutability: F64
    substitution_tau: F64
    coop_weight: F64
    coop_speedup: F64
    friendly: B8
    ct_capacity: F64
    ct_efficiency: F64
    ct_discount: F64
    ct_tau: F64
    ct_lag: I64
    proj_industry: I64
    proj_capacity: F64
    proj_online: I64
    proj_ramp: I64
    proj_success: B8
    proj_capex: F64
    ario: Ario = field(repr=False)

    @property
    def batch(self) -> int:
        """Number of scenarios B."""
        return int(self.sanction_onset.shape[0])

    @classmethod
    def quiet(cls, baseline: Baseline, batch: int, *, events: int = 1, projects: int = 1) -> ShockBatch:
        """A batch with no shock at all (the steady state), to be edited with ``dataclasses.replace``."""
        b, r, s = batch, baseline.n_regions, baseline.n_sectors
        ie, ip = np.zeros((b, events), dtype=np.int64), np.zeros((b, projects), dtype=np.int64)
        return cls(
            target=np.zeros(r, dtype=bool),
            cap_industry=ie.copy(),
            cap_share=_zeros(b, events),
            cap_onset=ie.copy(),
            cap_duration=ie.copy(),
            cap_recovery=ie.copy(),
            sanction_onset=np.zeros(b, dtype=np.int64),
            sanction_end=np.full(b, NEVER, dtype=np.int64),
            embargo=_zeros(b, r, s, r),
            leakage=_zeros(b, s),
            leakage_premium=_zeros(b, s),
            substitutability=_zeros(b, s),
            substitution_tau=np.full((b, s), 180.0),
            coop_weight=np.ones(b),
            coop_speedup=np.ones(b),
            friendly=np.zeros((b, r), dtype=bool),
            ct_capacity=_zeros(b),
            ct_efficiency=_zeros(b),
            ct_discount=_zeros(b),
            ct_tau=np.full(b, 90.0),
            ct_lag=np.zeros(b, dtype=np.int64),
            proj_industry=ip.copy(),
            proj_capacity=_zeros(b, projects),
            proj_online=ip.copy(),
            proj_ramp=ip.copy(),
            proj_success=np.zeros((b, projects), dtype=bool),
            proj_capex=_zeros(b, projects),
            ario=Ario.default(b, s),
        )

    def take(self, index: Any) -> ShockBatch:
        """The sub-batch of scenarios ``index`` (an index array or slice along B)."""
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "target":
                out[f.name] = value
            elif f.name == "ario":
                out[f.name] = Ario(**{g.name: getattr(value, g.name)[index] for g in fields(Ario)})
            else:
                out[f.name] = value[index]
        return replace(self, **out)

    def validate(self, baseline: Baseline) -> None:
        """Check shapes and ranges; raise ``ShapeError`` naming the first bad field."""
        b, r, s, n = self.batch, baseline.n_regions, baseline.n_sectors, baseline.n
        e, p = self.cap_share.shape[1], self.proj_capacity.shape[1]
        expected = {
            "target": (r,),
            "cap_industry": (b, e), "cap_share": (b, e), "cap_onset": (b, e),
            "cap_duration": (b, e), "cap_recovery": (b, e),
            "sanction_onset": (b,), "sanction_end": (b,), "embargo": (b, r, s, r),
            "leakage": (b, s), "leakage_premium": (b, s),
            "substitutability": (b, s), "substitution_tau": (b, s),
            "coop_weight": (b,), "coop_speedup": (b,), "friendly": (b, r),
            "ct_capacity": (b,), "ct_efficiency": (b,), "ct_discount": (b,), "ct_tau": (b,), "ct_lag": (b,),
            "proj_industry": (b, p), "proj_capacity": (b, p), "proj_online": (b, p),
            "proj_ramp": (b, p), "proj_success": (b, p), "proj_capex": (b, p),
        }  # fmt: skip
        for name, shape in expected.items():
            got = np.shape(getattr(self, name))
            if got != shape:
                raise ShapeError(f"ShockBatch.{name} has shape {got}, expected {shape}")
        ario_shapes = {"alpha_max": (b,), "alpha_tau": (b,), "psi": (b,), "inventory_tau": (b,),
                       "inventory_days": (b, s)}  # fmt: skip
        for name, shape in ario_shapes.items():
            got = np.shape(getattr(self.ario, name))
            if got != shape:
                raise ShapeError(f"Ario.{name} has shape {got}, expected {shape}")
        unit = ("cap_share", "embargo", "leakage", "substitutability", "ct_efficiency", "ct_discount")
        for name in unit:
            v = np.asarray(getattr(self, name))
            if v.size and not (np.all(v >= 0) and np.all(v <= 1)):
                raise ShapeError(f"ShockBatch.{name} must lie in [0, 1]")
        positive = ("substitution_tau", "ct_tau")
        for name in positive:
            if np.any(np.asarray(getattr(self, name)) <= 0):
                raise ShapeError(f"ShockBatch.{name} must be > 0")
        non_negative = ("leakage_premium", "ct_capacity", "proj_capacity", "proj_capex")
        for name in non_negative:
            if np.any(np.asarray(getattr(self, name)) < 0):
                raise ShapeError(f"ShockBatch.{name} must be >= 0")
        if np.any(self.coop_weight < 1) or np.any(self.coop_speedup < 1):
            raise ShapeError("ShockBatch.coop_weight and coop_speedup must be >= 1")
        ints = ("cap_onset", "cap_duration", "cap_recovery", "sanction_onset", "ct_lag", "proj_online", "proj_ramp")
        for name in ints:
            if np.any(np.asarray(getattr(self, name)) < 0):
                raise ShapeError(f"ShockBatch.{name} must be >= 0")
        for name in ("cap_industry", "proj_industry"):
            v = np.asarray(getattr(self, name))
            if v.size and (v.min() < 0 or v.max() >= n):
                raise ShapeError(f"ShockBatch.{name} must index industries 0..{n - 1}")
        if np.any(self.sanction_end < self.sanction_onset):
            raise ShapeError("ShockBatch.sanction_end must be >= sanction_onset")
        if np.any(self.ario.alpha_max < 1) or np.any(self.ario.alpha_tau <= 0):
            raise ShapeError("Ario.alpha_max must be >= 1 and alpha_tau > 0")
        if np.any(self.ario.psi <= 0) or np.any(self.ario.psi > 1):
            raise ShapeError("Ario.psi must lie in (0, 1]")
        if np.any(self.ario.inventory_tau <= 0) or np.any(self.ario.inventory_days <= 1):
            raise ShapeError("Ario.inventory_tau must be > 0 and inventory_days > 1")
        if np.any(self.ario.psi[:, None] * self.ario.inventory_days < 1 - 1e-12):
            raise ShapeError(
                "Ario.psi x inventory_days must be >= 1: the inventory constraint lets an industry use "
                "stock / (psi x days) a day, more than the stock itself below one day"
            )


def embargo_links(
    target: NDArray[np.bool_],
    coalition: NDArray[np.bool_],
    import_ban: NDArray[np.float64],
    export_ban: NDArray[np.float64],
) -> F64:
    """Share of each link closed by a sanction package, shape (..., R, S, R) ``[ro, k, rd]``.

    ``target`` (R,) are the sanctioned regions, ``coalition`` (..., R) the sanctioning partners;
    ``import_ban`` (..., S) closes coalition -> target links for product k (the targets' imports) and
    ``export_ban`` (..., S) closes target -> coalition links (the targets' exports); values in [0, 1].
    """
    tgt = np.asarray(target, dtype=float)
    coal = np.asarray(coalition, dtype=float) * (1.0 - tgt)
    imp = np.asarray(import_ban, dtype=float)
    exp = np.asarray(export_ban, dtype=float)
    into = coal[..., :, None, None] * imp[..., None, :, None] * tgt[None, None, :]
    out = tgt[:, None, None] * exp[..., None, :, None] * coal[..., None, None, :]
    return np.clip(into + out, 0.0, 1.0)  # type: ignore[no-any-return]
