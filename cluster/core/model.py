"""The batched ARIO-family sanctions model: one daily step for B scenarios at once.

Arrays are batch-last (the scenario axis is the last one) so that every contraction against the shared
baseline flows is a batched matrix product with the scenarios as columns. Layout names:

* industry arrays ``(n, B)``, viewed as ``(R, S, B)`` (region-major);
* product x buyer arrays ``(S, n, B)``, viewed as ``(S, R, S, B)`` ``[k, rd, s, b]``;
* link arrays ``(S, D, O, B)`` ``[k, rd, ro, b]`` over the region pairs of one *block* (below).

No state is ever an n x n array per scenario: orders are held as *order intensities* per (product,
buyer) and the baseline flows Z0 are applied on the fly (see ``docs/model.md``).

Sanctions touch only the links between some region pairs (coalition -> targets, targets -> coalition).
Every contraction is therefore computed as if all links were open (a few large matrix products) and then
corrected on the closed links only, grouped in blocks of origin regions x destination regions. A scenario
may hold several sanction packages with their own dates; the links' closed, sanctioned and leaked shares
are combined from the packages in force, once per pattern of which packages are in force (cached).

Prices never enter the step: they only value what it delivered (real income, and trade by partner when asked
for, which needs the deliveries resolved by origin and destination region, ``Stepper._bilateral``).

Final-demand paths (``ShockBatch.demand``) multiply every baseline final-demand flow y[ro, k, rd] by the day's
mu[k, rd] (``Stepper.demand_multiplier``) where the flow is used; the cached sanction patterns stay at baseline
final demand (mu depends on the destination and the product only, so the redirected share F is unchanged). Sums of
baseline flows precomputed for the run take the change as a correction, sum y (mu - 1), so that a scenario whose
mu is 1 keeps its bits whatever its companions do; on days when no demand shock is active nothing is scaled.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import ModuleType

import numpy as np
from numpy.typing import NDArray

from .baseline import Baseline
from .shocks import NEVER, Extensions, ShockBatch

__all__ = ["KERNELS", "StepRecord", "Stepper"]

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]
B8 = NDArray[np.bool_]

#: Capacity ratios below this split no orders: they count as 0, a dead supplier. An order intensity is the need
#: divided by the suppliers' capacity-weighted flows, so a buyer's only supplier at 1e-307 of its capacity (a
#: wiped-out industry with a project of negligible size) made it overflow. No ratio a run can mean is this small.
C_FLOOR = 1e-200
#: ``numpy.allclose`` tolerances BoARIO uses to decide that inventories need no update or no refill.
_RTOL, _ATOL = 1e-5, 1e-8
#: The step's implementations: ``fused`` compiles its state-sized elementwise passes into a few loops
#: (``cluster.core.fused``); ``numpy`` is the reference, one numpy call per pass. They agree to about 1e-15.
KERNELS = ("fused", "numpy")
#: Smallest share of a buyer's baseline purchases of a product that a supplier must hold to take
#: redirected orders.
_MIN_SHARE = 1e-6


def _kernels() -> ModuleType:
    """The compiled kernels, imported on first use: numba's import (about half a second) is paid only by a process
    that steps with ``kernel="fused"``."""
    from . import fused

    return fused


#: An absent (n, B) or (S, n, B) operand of a fused kernel (no projects, no expansion, no substitution, ...).
_ABSENT2 = np.empty((0, 0))
_ABSENT3 = np.empty((0, 0, 0))
_ABSENT4 = np.empty((0, 0, 0, 0))


def _surely_apart(a_sum: F64, b_sum: F64, size: int) -> B8:
    """Per scenario, True when ``numpy.allclose(a, b)`` must be False, judged from the sums of a and b >= 0.

    allclose needs |a - b| <= atol + rtol |b| everywhere, hence |sum a - sum b| <= size atol + rtol sum b;
    the 1% margin covers the rounding of the sums. A cheap test that spares the full check most days.
    """
    return np.abs(a_sum - b_sum) > 1.01 * (size * _ATOL + _RTOL * b_sum) + 1e-12 * b_sum  # type: ignore[no-any-return]


def _safe_div(num: F64, den: F64) -> F64:
    """num / den where den != 0, else 0 (a plain division, then the zeros: faster than a masked division)."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):  # beyond the float range: inf, callers cap
        out: F64 = np.divide(num, den)
    zero = den == 0
    if zero.any():
        np.copyto(out, 0.0, where=zero)
    return out


@dataclass
class StepRecord:
    """What one step produced, per scenario (batch-last), for the metrics."""

    production: F64  # (n, B)
    va: F64  # (R, B) real value added: sum_j v_j x_j, at baseline prices
    income: F64  # (R, B) real income: va + terms-of-trade gains - premia and export discounts
    final_delivered: F64  # (R, B) final demand delivered, by destination region
    exports: F64  # (R, B) deliveries across the origin's bloc border, incl. counter-trade
    ct_exports: F64  # (R, B)
    ct_imports: F64  # (R, B)
    premium: F64  # (R, B) leakage premium paid, by buyer region
    balance_residual: F64  # (B,) max relative gap between what suppliers produced and what buyers got
    min_stock: F64  # (B,)
    trade_volume: F64 | None = None  # (R_o, R_d, B) deliveries by origin and destination, baseline prices
    trade_value: F64 | None = None  # (R_o, R_d, B) the same at the day's prices, discounts and premia
    final_demand: F64 | None = None  # (R, B) the day's final demand by destination; None: the baseline's
    diverted: F64 | None = None  # (R, B) diverted exports delivered by each target region (counter-trade included)
    displaced: F64 | None = None  # (R, B) deliveries to friendly buyers each other origin lost to them
    diverted_received: F64 | None = None  # (R, B) net change of each friendly buyer's receipts (its own side)


@dataclass
class _Diverted:
    """The day's diverted orders (export diversion and counter-trade exports), per product k, friendly buyer
    region f (the union ``Stepper.div_f``) and origin o: what the friendly buyers no longer order from their other
    foreign suppliers, and what the target regions receive instead."""

    lost_z: F64  # (S, F, R_o, B) intermediate orders moved away from origin o
    lost_y: F64  # (S, F, R_o, B) final-demand orders moved away from origin o
    moved_z: F64  # (S, F, B) sum over o of lost_z: intermediate orders placed with the targets
    moved_y: F64  # (S, F, B)
    into: F64  # (R_t, S, B) orders received by each target region
    out: F64  # (R, S, B) orders lost by each origin region
    inter: F64 | None = None  # (S, F, S_b, B) net change of the buyers' intermediate receipts, once computed


@dataclass
class _Block:
    """Closed links from origin regions ``o`` to destination regions ``d`` (one origin class), per package
    (leading axis K) while that package is in force."""

    o: I64
    d: I64
    cls: int  # index into Stepper.classes
    z: F64  # (S, D, O, S_b) daily flows Z0[(o, k), (d, s)]
    zt: F64  # (S, D, S_b, O)
    y: F64  # (S, D, O) daily final demand
    banned: F64  # (K, S, D, O, B) share banned by each package: E_k
    closed: F64  # (K, S, D, O, B) share each package keeps closed: E_k (1 - leakage_k)
    touched: F64  # (K, S, D, O, B) 1 where a package sanctions a link at all (E_k > 0)
    leak: F64 | None  # (K, S, D, O, B) share open only through third countries: E_k leakage_k
    within: F64  # (D, O) 1 where the destination is inside the origin's bloc (not an export)
    gamma: F64  # (D, B) weight of these origins in redirected final demand (cooperation)
    tied: F64 | None = None  # (K, S, D, O, B) closed share no other buyer can take: closed (1 - divertible_k)


@dataclass
class _Pattern:
    """Per-block arrays for one pattern of which packages are in force in which scenario (cached): the
    packages' shares combined (``Stepper._combine``), zero in the scenarios with no package in force."""

    closed: list[F64 | None]  # (S, D, O, B) share closed: C = 1 - prod_k (1 - a_k E_k (1 - leakage_k))
    touched: list[F64 | None]  # 1 where any package in force sanctions a link: no redirected orders go there
    leak: list[F64 | None]  # share open only through third countries: L = E - C, E = 1 - prod_k (1 - a_k E_k)
    y_closed: list[F64 | None]  # y * closed, (S, D, O, B)
    y_touched: list[F64 | None]  # y * touched
    y_leak: list[F64 | None]
    blocked_fd: F64  # (S, R_d, B) final demand blocked, by product and destination
    fd_tot: F64  # (S, R_d, B) weight of the untouched origins in redirected final demand
    #: The closed share friendly buyers can take instead (``_blocked_exports``): closed less the union of the
    #: packages' tied shares; None where every package in force is fully divertible (then ``closed`` itself).
    closed_div: list[F64 | None] | None = None


class Stepper:
    """Holds the state of a batch and advances it one day at a time (see ``simulate``)."""

    def __init__(
        self,
        baseline: Baseline,
        shocks: ShockBatch,
        ext: Extensions,
        diagnostics: bool = False,
        trade: bool = False,
        kernel: str = "fused",
        links: B8 | None = None,
    ):
        """``trade``: also record each day's deliveries by origin and destination region (``StepRecord.trade_*``).
        ``kernel``: one of ``KERNELS``. ``links`` (R_o, R_d): links to block as closable beyond those this batch
        closes (``simulate``)."""
        self.links = links
        if kernel not in KERNELS:
            raise ValueError(f"kernel must be one of {KERNELS}, got {kernel!r}")
        self.bl, self.sh, self.ext, self.diag, self.trade = baseline, shocks, ext, diagnostics, trade
        self._ramps: dict[tuple[int, str], F64] = {}
        self._since: tuple[int, F64] = (-1, np.zeros(0))  # (day, days since each region's clock started)
        self.fused = kernel == "fused"
        self.k: ModuleType = _kernels() if self.fused else ModuleType("unused")
        # The fused path's inventory constraint of the settled stock, min_k S_k / (psi s A_k) (n, B): None until the
        # first settling writes it (into ``stock_cap_next``).
        self.stock_cap: F64 | None = None
        self.stock_cap_next = np.empty((baseline.n, shocks.batch))
        # The days on which some event's loss may be > 0 (``capacity_loss``): onset <= t < end + 1 + recovery.
        ev = shocks.events
        hit = ev.share > 0
        last = ev.onset + ev.duration + 1 + np.maximum(ev.recovery, 1)  # the first day with no loss left
        self.loss_days = (int(ev.onset[hit].min()), int(last[hit].max())) if hit.any() else (0, 0)
        self.no_loss = np.zeros((baseline.n, shocks.batch))  # capacity_loss outside those days (never written)
        self.c_next, self.dead = np.ones((baseline.n, shocks.batch)), False  # set by ``_produce``
        bl, sh = baseline, shocks
        r, s, b, n = bl.n_regions, bl.n_sectors, shocks.batch, bl.n
        self.r, self.s, self.b, self.n = r, s, b, n
        ar = sh.ario
        # --- constants of the run -------------------------------------------------------------------
        self.x0 = bl.x0[:, None]  # (n, 1)
        self.tech = bl.tech[:, :, None]  # (S, n, 1)
        # Inventory days and psi are usually the same for every scenario: keep them (S, 1, 1) then, so that
        # the (S, n, B) passes read one small constant array instead of a second large one.
        uniform = bool((ar.inventory_days == ar.inventory_days[:1]).all() and (ar.psi == ar.psi[:1]).all())
        days = ar.inventory_days[:1] if uniform else ar.inventory_days
        psi = ar.psi[:1] if uniform else ar.psi
        self.days = np.ascontiguousarray(days.T)[:, None, :]  # (S, 1, B or 1)
        self.amax = ar.alpha_max
        self.atau = 1 / ar.alpha_tau  # BoARIO stores the reciprocal and multiplies
        self.itau = 1 / ar.inventory_tau
        self.inv_req = self._inverse_requirement(bl.needed[:, :, None], psi)  # (S, n, B or 1)
        self.td = self.tech * self.days  # (S, n, B or 1) stock wanted per unit of output
        self.td_sum = self.td.sum(axis=0)  # (n, B or 1)
        self.tech_sum = bl.tech.sum(axis=0)  # (n,)
        self.x0_by_product = bl.x0.reshape(r, s).sum(axis=0)[:, None]  # (S, 1)
        self.wfix = (bl.z_by_product.sum(axis=1) == 0).astype(float)[:, :, None]  # (S, n, 1)
        self.zk_t = np.ascontiguousarray(bl.z_by_product.transpose(0, 2, 1))  # (S, n, R)
        self.y_supplier = bl.y.sum(axis=2).reshape(n, 1)  # (n, 1) baseline final demand per supplier
        self.y_kdo = np.ascontiguousarray(bl.y.transpose(1, 2, 0))  # (S, R_d, R_o)
        self.y_kod = np.ascontiguousarray(bl.y.transpose(1, 0, 2))  # (S, R_o, R_d)
        self.va_coef = bl.va_coef.reshape(r, s, 1)
        self.va0 = (bl.va_coef * bl.x0).reshape(r, s).sum(axis=1)  # (R,)
        dom = bl.domestic
        self.dom_idx, self.for_idx = np.flatnonzero(dom), np.flatnonzero(~dom)
        self.foreign = 1.0 - np.eye(r)  # (R_o, R_d) 1 where a delivery is an export
        self.foreign[np.ix_(dom, dom)] = 0.0
        z_rr = bl.z_links.sum(axis=(0, 3)).T + bl.y.sum(axis=1)  # (R_o, R_d) daily trade
        self.base_exports = (z_rr * self.foreign).sum(axis=1)
        self.fd0 = bl.y.sum(axis=(0, 1))  # (R_d,)
        # Flows inside each origin's bloc: its own region, and the domestic bloc for domestic regions.
        self.z_diag = np.ascontiguousarray(bl.z_links[:, np.arange(r), np.arange(r)])  # (S, R, S_b)
        self.dom_cols = np.flatnonzero(np.repeat(dom, s))
        self.z_dd = np.ascontiguousarray(bl.z_by_product[:, self.dom_idx][:, :, self.dom_cols])  # (S, R_dom, n_dom)
        self.y_diag = np.ascontiguousarray(self.y_kdo[:, np.arange(r), np.arange(r)])  # (S, R)
        self.y_dd = np.ascontiguousarray(self.y_kdo[:, self.dom_idx][:, :, self.dom_idx])  # (S, R_dom_d, R_dom_o)
        self.y_dom_in = self.y_dd.sum(axis=1).T  # (R_dom, S)
        # Baseline final demand per supplier, and the part of it inside the supplier's bloc, (R, S, B), read-only.
        self.y_sup0 = np.repeat(self.y_supplier.reshape(r, s, 1), b, axis=2)
        self.fd_within0 = np.repeat(self.y_diag.T[..., None], b, axis=2)
        self.fd_within0[self.dom_idx] = self.y_dom_in[..., None]
        self.y_sup0.flags.writeable = self.fd_within0.flags.writeable = False
        # The fused path's within-bloc orders: partners' own-region links by a kernel, the domestic bloc by one
        # product on the intensities' rows of the domestic buyers, a view when those rows are contiguous.
        self.own = np.eye(r, dtype=bool) & ~dom[:, None]  # (R_o, R_d) partners: their own region
        cols = self.dom_cols
        contiguous = cols.size > 0 and bool((np.diff(cols) == 1).all())
        self.dom_rows = slice(int(cols[0]), int(cols[-1]) + 1) if contiguous else None
        self.never = np.zeros(b, dtype=bool)
        self.n_packages = int(sh.sanctions.onset.shape[1])
        self.never_k = np.zeros((b, self.n_packages), dtype=bool)
        # Adaptation clocks: a region's substitution, diversion and counter-trade ramps count days from the onset
        # of the first package that closes any of its links (NEVER for a region no package touches).
        touch: B8 = np.any(sh.sanctions.embargo > 0, axis=3)  # (B, K, R_o, R_d)
        touched = touch.any(axis=3) | touch.any(axis=2)  # (B, K, R)
        self.onset_r = np.where(touched, sh.sanctions.onset[:, :, None], NEVER).min(axis=1).T  # (R, B)
        self.tgt_idx = np.flatnonzero(sh.target)
        self.all_regions = np.arange(r)
        self.foreign_t = np.ascontiguousarray(self.foreign[:, self.tgt_idx])  # (R_o, R_t): to a target region
        # The target regions' industries (rows of n), region by region.
        self.tgt_rows = (self.tgt_idx[:, None] * self.s + np.arange(self.s)[None]).ravel()
        self.is_target = np.zeros(r, dtype=bool)
        self.is_target[self.tgt_idx] = True
        self.buf1, self.buf2, self.buf3, self.buf4 = (np.empty((s, n, b)) for _ in range(4))
        # Origin classes: domestic and foreign origins are told apart only under cooperation.
        split = ext.cooperation and self.dom_idx.size > 0 and self.for_idx.size > 0
        self.classes: list[I64] = [self.dom_idx, self.for_idx] if split else [np.arange(r)]
        self.cls_of = np.zeros(r, dtype=np.int64)
        if split:
            self.cls_of[self.for_idx] = 1
        self.zbp_cls = [np.ascontiguousarray(bl.z_by_product[:, rows]) for rows in self.classes]  # (S, R_c, n)
        self.zkt_cls = [np.ascontiguousarray(self.zk_t[:, :, rows]) for rows in self.classes]  # (S, n, R_c)
        self.y_cls = [np.ascontiguousarray(self.y_kdo[:, :, rows]) for rows in self.classes]  # (S, R_d, R_c)
        self.y_kod_cls = [np.ascontiguousarray(self.y_kod[:, rows]) for rows in self.classes]  # (S, R_c, R_d)
        self.gamma_rd = np.ones((r, b))
        self.speed_rd = np.ones((r, b))
        if ext.cooperation:
            self.gamma_rd[dom] = sh.cooperation.weight
            self.speed_rd[dom] = sh.cooperation.speedup
        self.blocks: list[_Block] = self._make_blocks() if ext.sanctions else []
        # Buyer regions whose U is read (the blocks' destinations), and the targets' places (-1 elsewhere), for
        # ``_redirect_fused``; whether the barter channel wants the targets' unfilled needs.
        self.keep_u = np.zeros(r, dtype=bool)
        for blk in self.blocks:
            self.keep_u[blk.d] = True
        self.tgt_pos = np.full(r, -1, dtype=np.int64)
        self.tgt_pos[self.tgt_idx] = np.arange(self.tgt_idx.size)
        self.want_unfilled = ext.counter_trade and self.tgt_idx.size > 0
        self.red_bufs: F64 | None = None  # U and V + U per class (``_redirect_fused``), kept across days
        self._patterns: dict[bytes, _Pattern] = {}
        self.ct_phi = np.zeros((r, s, b))  # split of channel imports over friendly suppliers
        if ext.counter_trade:
            self._init_counter_trade()
        self._init_projects()
        self._init_prices()
        self._init_demand()
        self._init_diversion()
        self._init_expansion()
        # --- state ----------------------------------------------------------------------------------
        self.x = np.repeat(self.x0, b, axis=1)  # production of the last step
        self.alpha = np.ones((n, b))
        self.stock = np.repeat(self.tech * self.x0[None] * self.days, b // self.days.shape[2], axis=2)  # (S, n, B)
        # Initial orders are Z0 itself: intensity 1 with capacity ratio 1 and every link open.
        self.v = np.ones((s, n, b))
        self.u: list[F64] | None = None  # redirected-order intensity per origin class
        self.tt: list[F64] | None = None  # V + U per class, when the fused path computed it with U
        self.c_o = np.ones((r, s, b))
        self.active_o = self.never_k  # which packages were in force when yesterday's orders were placed (B, K)
        self.ct_q = np.zeros((s, self.tgt_idx.size * s, b))  # channel import orders, by target buyer
        self.ct_offer: F64 | None = None
        # Diverted orders for the next step: the share theta[k] of the friendly buyers' orders for k from their
        # other foreign suppliers goes to the target regions, split ``div_share`` (R_t, S, B); of what target t
        # receives, the share ``div_ctf`` is counter-trade (barter), the rest sold for money.
        self.div_theta = np.zeros((s, b))
        self.div_orders: F64 | None = None  # (S, F, R_o, B) the friendly buyers' orders theta applies to
        self.div_share = np.zeros((self.tgt_idx.size, s, b))
        self.div_ctf = np.zeros((self.tgt_idx.size, s, b))
        self.k_new = np.zeros((n, b))  # capacity built by supplier expansion
        self.credit = np.zeros(b)
        self.credit_ring = np.zeros((int(sh.counter_trade.lag.max(initial=0)) + 1, b))

    # ------------------------------------------------------------------------------------ set-up --
    def _inverse_requirement(self, needed: B8, psi: F64) -> F64:
        """1 / (psi s_k A[k, j]) for needed inputs, inf otherwise: output one unit of stock allows."""
        req = self.tech * psi * self.days  # (S, n, B)
        out = np.full(req.shape, np.inf)
        np.divide(1.0, req, out=out, where=np.broadcast_to(needed, req.shape) & (req > 0))
        return out

    def _make_blocks(self) -> list[_Block]:
        """Group the region pairs that any package of any scenario closes into blocks (origins x destinations)."""
        bl, sh, ext = self.bl, self.sh, self.ext
        emb = sh.sanctions.embargo  # (B, K, R_o, S, R_d)
        touched = emb.max(axis=(0, 1, 3)) > 0  # (R_o, R_d)
        if self.links is not None:  # the run's closable links: the same blocks for every batch
            touched = touched | self.links
        lam = sh.sanctions.leakage.transpose(1, 2, 0)[:, :, None, None, :] if ext.leakage else 0.0  # (K, S, 1, 1, B)
        div = sh.sanctions.divertible.T[:, None, None, None, :]  # (K, 1, 1, 1, B)
        blocks: list[_Block] = []
        groups: dict[bytes, list[int]] = {}
        for rd in np.flatnonzero(touched.any(axis=0)):
            groups.setdefault(touched[:, rd].tobytes(), []).append(int(rd))
        for key, dests in groups.items():
            origins = np.flatnonzero(np.frombuffer(key, dtype=bool))
            d = np.array(dests, dtype=np.int64)
            for c, rows in enumerate(self.classes):
                o = np.intersect1d(origins, rows)
                if o.size == 0:
                    continue
                e = np.ascontiguousarray(emb[:, :, o][..., d].transpose(1, 3, 4, 2, 0))  # (K, S, D, O, B)
                z = np.ascontiguousarray(bl.z_links[:, d][:, :, o])
                blocks.append(
                    _Block(
                        o=o,
                        d=d,
                        cls=c,
                        z=z,
                        zt=np.ascontiguousarray(z.transpose(0, 1, 3, 2)),
                        y=np.ascontiguousarray(self.y_kdo[:, d][:, :, o]),
                        banned=e,
                        closed=e * (1.0 - lam),
                        touched=(e > 0).astype(float),
                        leak=e * lam if ext.leakage else None,
                        within=1.0 - self.foreign[np.ix_(o, d)].T,
                        gamma=self.gamma_rd[d] if bl.domestic[o[0]] else np.ones((d.size, self.b)),
                        tied=None if (div == 1.0).all() else e * (1.0 - lam) * (1.0 - div),
                    )
                )
        return blocks

    def _pattern(self, active: B8) -> _Pattern | None:
        """Block arrays for the packages in force, ``active`` (B, K) (None when none is)."""
        if not self.blocks or not active.any():
            return None
        key = active.tobytes()
        if key in self._patterns:
            return self._patterns[key]
        # Per package in force somewhere: None when in force in every scenario, else the 0/1 weight (B,).
        weights: dict[int, F64 | None] = {
            k: None if active[:, k].all() else active[:, k].astype(float)
            for k in range(active.shape[1])
            if active[:, k].any()
        }
        closed: list[F64 | None] = []
        touched: list[F64 | None] = []
        leak: list[F64 | None] = []
        y_closed: list[F64 | None] = []
        y_touched: list[F64 | None] = []
        y_leak: list[F64 | None] = []
        blocked = np.zeros((self.s, self.r, self.b))
        tot = self._fd_weight_total()
        for blk in self.blocks:
            cl, tc, lk = self._combine(blk, weights)
            yc, yt = blk.y[..., None] * cl, blk.y[..., None] * tc
            closed.append(cl)
            touched.append(tc)
            leak.append(lk)
            y_closed.append(yc)
            y_touched.append(yt)
            y_leak.append(None if lk is None else blk.y[..., None] * lk)
            blocked[:, blk.d] += yc.sum(axis=2)
            tot[:, blk.d] -= yt.sum(axis=2) * blk.gamma
        np.maximum(tot, 0.0, out=tot)
        pat = _Pattern(closed, touched, leak, y_closed, y_touched, y_leak, blocked, tot)
        if any(blk.tied is not None for blk in self.blocks):
            pat.closed_div = [self._divertible(blk, cl, weights) for blk, cl in zip(self.blocks, closed, strict=True)]
        if len(self._patterns) > 4:  # packages start and end on few distinct days: keep a handful
            self._patterns.clear()
        self._patterns[key] = pat
        return pat

    @staticmethod
    def _combine(blk: _Block, weights: dict[int, F64 | None]) -> tuple[F64, F64, F64 | None]:
        """Closed, touched and leaked shares of block ``blk``'s links under the packages in force, ``weights``
        (package -> None if in force everywhere, else its 0/1 weight per scenario).

        Packages are independent bans on shares of a link, so the shares that stay open multiply:
        C = 1 - prod_k (1 - a_k E_k (1 - lambda_k)), computed as the union u <- u + c (1 - u) from u = 0, and
        E = 1 - prod_k (1 - a_k E_k). The leaked share L = E - C is accumulated as L <- L (1 - c) + P e lambda
        (P = prod of 1 - e over the packages before; algebraically E - C, without its cancellation), so a
        single package in force gives C = E (1 - lambda) and L = E lambda exactly: the bits of a one-package
        run, and those of a run with extra packages that close nothing.
        """

        def part(x: F64, k: int) -> F64:
            w = weights[k]
            return x[k] if w is None else x[k] * w  # type: ignore[no-any-return]

        first, *rest = weights
        closed, touched = part(blk.closed, first), part(blk.touched, first)
        leak = None if blk.leak is None else part(blk.leak, first)  # E lambda itself, not E - C
        if not rest:
            return closed, touched, leak
        still = 1.0 - part(blk.banned, first)  # prod_k (1 - a_k E_k) so far
        for k in rest:
            c = part(blk.closed, k)
            if leak is not None and blk.leak is not None:
                grown = leak * (1.0 - c)
                grown += still * part(blk.leak, k)
                leak = grown
            closed = closed + c * (1.0 - closed)
            touched = np.maximum(touched, part(blk.touched, k))
            still = still * (1.0 - part(blk.banned, k))
        return closed, touched, leak

    @staticmethod
    def _divertible(blk: _Block, closed: F64 | None, weights: dict[int, F64 | None]) -> F64 | None:
        """The closed share of ``blk``'s links that friendly buyers can take: C - N, N = 1 - prod_k (1 - t_k) the
        union of the tied shares t_k = a_k E_k (1 - lambda_k) (1 - divertible_k) of the packages in force."""
        if closed is None or blk.tied is None:
            return closed
        tied: F64 | None = None
        for k, w in weights.items():
            t = blk.tied[k] if w is None else blk.tied[k] * w
            tied = t if tied is None else tied + t * (1.0 - tied)
        assert tied is not None
        return np.maximum(closed - tied, 0.0)  # type: ignore[no-any-return]

    def _fd_weight_total(self) -> F64:
        """Sum over origins of baseline final demand weighted by gamma (domestic origins of domestic buyers)."""
        tot = np.zeros((self.s, self.r, self.b))
        for rows in self.classes:
            part = self.y_kdo[:, :, rows].sum(axis=2)[..., None]  # (S, R_d, 1)
            weight = self.gamma_rd if self.bl.domestic[rows[0]] and len(self.classes) > 1 else 1.0
            tot += part * weight
        return tot

    def _init_counter_trade(self) -> None:
        bl, sh = self.bl, self.sh
        tgt = sh.target
        fr = sh.counter_trade.friendly & ~tgt[None, :]  # (B, R)
        z_rr = bl.z_links.sum(axis=(0, 3)).T + bl.y.sum(axis=1)  # (R_o, R_d) daily trade
        # Per scenario, a sum along its own row (not a product with the batch as a dimension, whose rounding
        # would depend on the batch size): trade from the targets to its friendly partners, and back.
        t2f = (fr * z_rr[tgt].sum(axis=0)[None, :]).sum(axis=1)
        f2t = (fr * z_rr[:, tgt].sum(axis=1)[None, :]).sum(axis=1)
        self.ct_cap = sh.counter_trade.capacity * (t2f + f2t)  # daily value each way
        x0 = bl.x0.reshape(self.r, self.s)
        w = x0[:, :, None] * fr.T[:, None, :]  # (R, S, B)
        self.ct_phi = _safe_div(w, w.sum(axis=0, keepdims=True))
        self.ct_has_supply = self.ct_phi.sum(axis=0) > 0  # (S, B)
        # The channel's exports are part of the diverted flow: delivered into the friendly buyers' supply
        # (``ShockBatch.adaptation.buyers``), displacing their other suppliers (``_diverted``).

    def _init_prices(self) -> None:
        pr = self.sh.prices
        self.price_on = bool((pr.level != 0).any())  # any world price moves in this batch
        self.price_level = np.ascontiguousarray(pr.level.T)  # (S, B)
        # The discount on leaked exports needs leaked links out of some target region.
        self.discount_on = self.ext.leakage and self.tgt_idx.size > 0 and bool((pr.export_discount > 0).any())
        self.export_discount = np.ascontiguousarray(pr.export_discount.T)  # (S, B)
        self.premium_k = np.ascontiguousarray(self.sh.sanctions.leakage_premium.T)  # (S, B)
        # (S, 1, B), the substitution clocks' time constants, C order: the ramps divide by them every day, and a
        # strided divisor makes numpy's division slower and its result strided for every pass after it
        self.tau_sub = np.ascontiguousarray(self.sh.sanctions.substitution_tau.T[:, None])
        self.sub_k = np.ascontiguousarray(self.sh.sanctions.substitutability.T)  # (S, B), for the same reason
        if self.trade or self.price_on:  # for the origin-resolved contraction, ``_bilateral``
            self.z_links_cls = [np.ascontiguousarray(self.bl.z_links[:, :, rows]) for rows in self.classes]
            self.y_odk = np.ascontiguousarray(self.y_kdo.transpose(2, 1, 0))  # (R_o, R_d, S)
            self.y_dok_cls = [np.ascontiguousarray(y.transpose(1, 2, 0)) for y in self.y_cls]  # (R_d, R_c, S)

    def _init_demand(self) -> None:
        dem = self.sh.demand
        self.demand_moves = (dem.change != 0).any(axis=(2, 3))  # (B, J) shocks that change anything
        self.demand_on = bool(self.demand_moves.any()) or self.capex_on
        self.y_kd = self.bl.y.sum(axis=0)  # (S, R_d) baseline final demand by product and destination
        # The day's multiplier mu (S, R_d, B) and mu - 1, set at the start of each step; None when mu = 1 everywhere.
        self.fd_m: F64 | None = None
        self.fd_d: F64 | None = None
        # Per block, the day's final demand its links do not carry (``_fd_removed``), kept for the day.
        self.fd_rem: dict[int, F64 | None] = {}
        # Per block, the orders at usual intensity of tomorrow's V (S, D, O, B), as ``_blocked_exports`` multiplied
        # them after the day's orders: ``_orders_received`` takes them the next day instead of multiplying again.
        self.p_next: dict[int, F64] = {}

    def demand_multiplier(self, t: int) -> F64 | None:
        """mu[k, rd](t), shape (S, R_d, B): max(0, 1 + sum_j change_j[rd, k] a_j(t)) with the phase-in
        a_j(t) = min(1, (t - onset_j + 1) / max(ramp_j, 1)) on days onset_j <= t < end_j, 0 outside; None when no
        shock that changes anything is in its window on day t in any scenario (mu = 1: nothing is scaled)."""
        if not self.demand_on:
            return None
        dem, pj = self.sh.demand, self.sh.projects
        live = (dem.onset <= t) & (t < dem.end) & self.demand_moves  # (B, J)
        building = (pj.signed <= t) & (t < self.capex_end) & (self.capex_rate > 0) if self.capex_on else None  # (B, P)
        if not live.any() and (building is None or not building.any()):
            return None
        phase = np.minimum(1.0, (t - dem.onset + 1) / np.maximum(dem.ramp, 1))
        a = np.where(live, phase, 0.0)
        total = np.zeros((self.b, self.r, self.s))
        for j in np.flatnonzero(live.any(axis=0)):  # the shocks in sequence: a scenario's sum never depends on B
            total += a[:, j, None, None] * dem.change[:, j]
        if building is not None:  # capex: the day's spending over the region's baseline final demand
            rows = np.arange(self.b)
            for p in np.flatnonzero(building.any(axis=0)):
                reg = self.capex_region[:, p]
                spend = (building[:, p] * self.capex_rate[:, p])[:, None] * pj.capex_mix[:, p]  # (B, S)
                total[rows, reg] += _safe_div(spend, self.y_kd.T[reg])
        total += 1.0
        np.maximum(total, 0.0, out=total)
        return np.ascontiguousarray(total.transpose(2, 1, 0))

    def _fd_scaled(self, blk: _Block, flows: F64) -> F64:
        """Final-demand flows of block ``blk`` (S, D, O, B) at the day's demand: times mu[k, d], if it moves."""
        return flows if self.fd_m is None else flows * self.fd_m[:, blk.d][:, :, None]  # type: ignore[no-any-return]

    def price_change(self, t: int) -> F64:
        """p_k(t) - 1, the world price of product k relative to the baseline less one, (S, B):
        level_k exp(-(t - onset) / tau) from the onset, 0 before it."""
        pr = self.sh.prices
        since = t - pr.onset  # (B,)
        decay = np.where(since >= 0, np.exp(-np.maximum(since, 0) / pr.tau), 0.0)
        return self.price_level * decay  # type: ignore[no-any-return]

    def _init_projects(self) -> None:
        sh = self.sh
        pj = sh.projects
        self.proj_on = self.ext.projects and bool((pj.success & (pj.capacity > 0)).any())
        # Capex: spent evenly over the build (days signed .. online - 1) as final demand of the project's region.
        self.capex_on = self.ext.projects and bool((pj.capex > 0).any())
        self.capex_end = np.maximum(pj.online, pj.signed + 1)  # a project online at once spends on its first day
        self.capex_rate = np.where(pj.capex > 0, pj.capex / (self.capex_end - pj.signed), 0.0)  # (B, P)
        self.capex_region = pj.industry // self.s  # (B, P)
        # new_capacity changes only on days first online .. last fully ramped up; (day, array) kept outside them.
        last = pj.online + np.maximum(pj.ramp, 1) - 1
        self.proj_days = (int(pj.online.min()), int(last.max())) if pj.online.size else (0, 0)
        self.proj_cap: tuple[int, F64] | None = None

    def _init_diversion(self) -> None:
        """Friendly buyers, and the links over which diversion moves their orders (from their other foreign
        suppliers, never a target region, never their own region)."""
        bl, sh, ext = self.bl, self.sh, self.ext
        ad = sh.adaptation
        buyers = ad.buyers.copy()  # (B, R): the market's friendly buyers, and the counter-trade channel's partners
        if ext.counter_trade:
            buyers |= sh.counter_trade.friendly & (sh.counter_trade.capacity > 0)[:, None]
        buyers &= ~sh.target[None, :]
        self.div_f = np.flatnonzero(buyers.any(axis=0))
        offered = (ext.diversion and bool((ad.diversion > 0).any())) or (
            ext.counter_trade and bool((sh.counter_trade.capacity > 0).any())
        )
        self.div_on = offered and ext.sanctions and self.div_f.size > 0 and self.tgt_idx.size > 0
        if not self.div_on:
            return
        f = self.div_f
        other = (self.foreign[:, f] > 0) & ~self.is_target[:, None]  # (R_o, F)
        zl = bl.z_links[:, f].transpose(0, 1, 3, 2)  # (S, F, S_b, R_o)
        self.div_z = np.ascontiguousarray(zl * other.T[None, :, None, :])
        self.div_zt = np.ascontiguousarray(self.div_z.transpose(0, 1, 3, 2))  # (S, F, R_o, S_b)
        self.div_y = np.ascontiguousarray(self.y_kdo[:, f] * other.T[None])  # (S, F, R_o)
        self.div_w = np.ascontiguousarray(buyers[:, f].T.astype(float))  # (F, B)
        self.div_foreign = self.foreign[np.ix_(self.tgt_idx, f)]  # (R_t, F) 1 where a delivery is an export
        self.div_dv = np.ascontiguousarray(ad.diversion.T) if ext.diversion else np.zeros((self.s, self.b))
        self.div_tau = np.ascontiguousarray(ad.diversion_tau.T)  # (S, B)
        self.div_abs = np.ascontiguousarray(ad.absorption.T)  # (S, B)

    def _init_expansion(self) -> None:
        """Supplier expansion: the share eta of excess demand built as capacity at the rate speed / tau."""
        ad = self.sh.adaptation
        self.exp_on = self.ext.expansion and bool((ad.expansion > 0).any())
        if not self.exp_on:
            return
        r, s, b = self.r, self.s, self.b
        self.exp_eta = np.broadcast_to(ad.expansion.T[None], (r, s, b)).reshape(self.n, b)
        rate = self.speed_rd[:, None, :] / ad.expansion_tau.T[None]  # (R, S, B): cooperation speeds domestic ones
        self.exp_rate = np.ascontiguousarray(rate.reshape(self.n, b))

    # ------------------------------------------------------------------------------ schedules --
    def capacity_loss(self, t: int) -> F64:
        """Delta(t), shape (n, B): BoARIO's timing for a capital-destruction event with linear recovery.

        The full loss applies on days onset .. onset + duration; on day t after that it is
        share * (1 - (t - 1 - onset - duration) / recovery) (recovery is applied at the end of a step and
        seen the next day), until it reaches 0.
        """
        sh = self.sh
        b, n = self.b, self.n
        if not self.loss_days[0] <= t < self.loss_days[1]:  # no event's loss on day t in any scenario
            return self.no_loss
        end = sh.events.onset + sh.events.duration
        rec = np.maximum(sh.events.recovery, 1)
        frac = np.where(t <= end, 1.0, 1.0 - (t - 1 - end) / rec)
        frac = np.where((t >= sh.events.onset) & (frac > 0), frac, 0.0)
        if not frac.any():
            return self.no_loss
        # Summed in the order of the events, as numpy.add.at would (bincount adds its weights in order).
        flat = (sh.events.industry * b + np.arange(b)[:, None]).ravel()
        delta = np.bincount(flat, weights=(sh.events.share * frac).ravel(), minlength=n * b).reshape(n, b)
        np.minimum(delta, 1.0, out=delta)
        return delta  # type: ignore[return-value]

    def new_capacity(self, t: int) -> F64 | None:
        """Daily capacity added by successful projects online at day t, shape (n, B), or None."""
        if not self.proj_on:
            return None
        sh = self.sh
        # Before the first project comes online, and once the last has ramped up, the additions do not change:
        # the array of such a day is kept and returned again (its callers only read it).
        phase = min(max(t, self.proj_days[0] - 1), self.proj_days[1])
        if phase != t and self.proj_cap is not None and self.proj_cap[0] == phase:
            return self.proj_cap[1]
        frac = np.clip((t - sh.projects.online + 1) / np.maximum(sh.projects.ramp, 1), 0.0, 1.0)
        add = sh.projects.capacity * np.where(t >= sh.projects.online, frac, 0.0) * sh.projects.success
        out = np.zeros((self.n, self.b))  # C order, as the fused kernels take it
        rows = np.broadcast_to(np.arange(self.b)[:, None], add.shape)
        np.add.at(out, (sh.projects.industry, rows), add)  # the same additions, in the same order
        if phase != t:
            self.proj_cap = (phase, out)
        return out

    def packages_active(self, t: int) -> B8:
        """Which packages are in force on day t, shape (B, K)."""
        sh = self.sh
        return (sh.sanctions.onset <= t) & (t < sh.sanctions.end)  # type: ignore[no-any-return]

    def sanction_active(self, t: int) -> B8:
        """Whether any package is in force on day t, shape (B,)."""
        return np.any(self.packages_active(t), axis=1)  # type: ignore[no-any-return]

    def ramp(self, t: int, tau: F64, speed: F64 | float = 1.0, key: str | None = None) -> F64:
        """Per region r, 1 - exp(-(days since r's clock started) * speed / tau), 0 before it: (..., R, B) for tau
        (..., 1, B) (or (..., R, B)) and speed (R, B) or 1.

        A region's clock starts at the onset of the first package that closes any of its links (``onset_r``),
        whichever package is in force on day t: a Belarus-only ban starts no clock in Russia's regions. ``key``
        names a ramp asked for more than once a day (it is kept for the day; the caller must not change it).
        """
        if key is not None and (t, key) in self._ramps:  # the same ramp asked for again on day t
            return self._ramps[t, key]
        if self._since[0] != t:
            self._since = (t, np.maximum(t - self.onset_r, 0).astype(float))
        out: F64 = np.divide(-self._since[1] * speed, tau)  # 1 - exp(-since speed / tau), in place from here
        np.exp(out, out=out)
        np.subtract(1.0, out, out=out)
        if key is not None:
            self._ramps = {k: v for k, v in self._ramps.items() if k[0] == t}  # the day's ramps only
            self._ramps[t, key] = out
        return out

    # ---------------------------------------------------------------------------------- the step --
    def step(self, t: int) -> StepRecord:
        """Advance the batch by day t and return what happened."""
        ext = self.ext
        r, s, b, n = self.r, self.s, self.b, self.n
        packages = self.packages_active(t) if ext.sanctions else self.never_k  # (B, K)
        active: B8 = np.any(packages, axis=1) if ext.sanctions else self.never  # (B,) any package in force
        pat_t = self._pattern(packages)
        pat_o = self._pattern(self.active_o)
        self.fd_m = self.demand_multiplier(t)
        self.fd_d = None if self.fd_m is None else self.fd_m - 1.0
        self.fd_rem = {}

        # 1. Final demand of the day: Y0 x mu, cut on closed links, the blocked part partly redirected.
        f_cls = self._fd_redirect(t, active, pat_t)  # per class (S, R_d, B) or None
        y_sup = self._fd_supply(pat_t, f_cls)  # (R, S, B)

        # 2. Demand addressed to each supplier: yesterday's orders + final demand + counter-trade.
        tt = self._intensities()
        d_int, p_blk, pu_blk = self._orders_received(tt, pat_o)
        demand = (d_int + y_sup).reshape(n, b)
        div = self._diverted() if self.div_on else None
        if div is not None:  # friendly buyers' orders moved from their other suppliers to the targets
            demand -= div.out.reshape(n, b)
            demand.reshape(r, s, b)[self.tgt_idx] += div.into
        if ext.counter_trade and self.fused:  # the line below in one compiled pass
            self.k.ct_demand(self.ct_q, self.ct_phi, demand)
        elif ext.counter_trade:
            demand += (self.ct_phi * self.ct_q.sum(axis=1)[None]).reshape(n, b)

        # 3. Overproduction (BoARIO updates it from the third step on, from signed scarcity).
        # 4. Capacity, wanted production, inventory constraint: x = min(x_opt, min_k S_k / (psi s A_k)).
        # 5. Proportional rationing (rat: the share of every order filled).
        if self.fused:  # 3 to 5 in one pass (``fused.produce``), with tomorrow's capacity ratio
            base_cap, split_cap, cap, x_opt, x, rat = self._produce(t, demand)
        else:
            base_cap, split_cap, cap, x_opt, x, rat = self._produce_numpy(t, demand)
        rat3 = rat.reshape(r, s, b)
        # The fused path multiplies the plain deliveries by the intensities in its settling pass (``defer``).
        defer = self.fused and len(self.classes) == 1 and pat_o is None and div is None and not ext.counter_trade
        defer = defer and not self.diag
        add = self._deliveries(tt, rat3 * self.c_o, pat_o, defer)
        if div is not None:
            self._diverted_receipts(div, rat3, add)
        ct_in = None
        if ext.counter_trade:
            ct_rho = (self.ct_phi * rat3).sum(axis=0)  # (S, B) share of channel imports filled
            # A supplier whose stock rounded below 0 produces ~-1e-16 (rat < 0): the channel delivers nothing then.
            np.maximum(ct_rho, 0.0, out=ct_rho)
            ct_in = self.ct_q * ct_rho[:, None, :]  # (S, n_target, B)
            if self.fused:
                self.k.add_rows(add, self.tgt_rows, ct_in)
            else:
                add.reshape(s, r, s, b)[:, self.tgt_idx] += ct_in.reshape(s, -1, s, b)
        diag = self._diagnostics(x, rat3, y_sup, add, div) if self.diag else None
        use: F64 | None = None
        if self.fused:  # inventories settle in the same passes as tomorrow's orders (``_order``)
            settle = (add, self.v if defer else add, defer)
        else:
            settle = None
            use = np.multiply(self.tech, x[None], out=self.buf3)
            # BoARIO leaves inventories alone when numpy.allclose(deliveries, use): same here, per scenario.
            use_sum = x.T @ self.tech_sum  # (B,) sum of use, without a pass over (S, n, B)
            maybe = ~_surely_apart(add.sum(axis=(0, 1)), use_sum, self.tech.size)
            diff = np.subtract(add, use, out=add)
            if maybe.any():
                chk = np.abs(diff, out=self.buf1)
                chk -= np.multiply(use, _RTOL, out=self.buf4)
                keep = chk.max(axis=(0, 1)) <= _ATOL
                if keep.any():
                    diff *= ~keep
            self.stock += diff

        # 6. Accounts of the day.
        rec = self._accounts(t, x, rat3, d_int, y_sup, tt, (p_blk, pu_blk), pat_o, pat_t, f_cls, ct_in, div, diag)

        # 7. Capacity built toward the excess demand (kept once built), and orders for tomorrow.
        if self.exp_on and self.fused:  # the lines below in one compiled pass
            self.k.expand(demand, base_cap, self.exp_eta, self.k_new, x, cap, self.exp_rate)
        elif self.exp_on:  # only where capacity is what held production back (not demand, not inputs)
            goal = np.maximum(demand - base_cap, 0.0) * self.exp_eta
            np.maximum(goal - self.k_new, 0.0, out=goal)
            goal *= x >= cap
            self.k_new += goal * self.exp_rate
        self._order(t, x_opt, use, split_cap, active, pat_t, x, settle)
        self.x = x
        self.active_o = packages
        return rec

    def _produce_numpy(self, t: int, demand: F64) -> tuple[F64, F64, F64, F64, F64, F64]:
        """Overproduction, capacity, production and rationing of day t, (n, B) each: base_cap (capacity before
        overproduction, what expansion aims beyond), split_cap (what splits tomorrow's orders: capacity without
        what expansion built), cap, x_opt, x, rat."""
        if t > 1:
            scarcity = _safe_div(demand - self.x, demand)
            change = (self.amax - self.alpha) * scarcity * self.atau + (1.0 - self.alpha) * (scarcity == 0) * self.atau
            self.alpha += change
            self.alpha[self.alpha < 1.0] = 1.0
        base_cap = self.x0 * (1.0 - self.capacity_loss(t))
        cap = base_cap * self.alpha
        extra = self.new_capacity(t)
        if extra is not None:
            cap = cap + extra
            base_cap = base_cap + extra
        split_cap = cap
        if self.exp_on:
            cap = cap + self.k_new
        x_opt = np.fmin(demand, cap)
        with np.errstate(invalid="ignore"):  # 0 * inf for an unneeded input is NaN, which fmin ignores
            np.multiply(self.stock, self.inv_req, out=self.buf1)
        x = np.fmin(x_opt, np.fmin.reduce(self.buf1, axis=0))
        return base_cap, split_cap, cap, x_opt, x, _safe_div(x, demand)

    def _produce(self, t: int, demand: F64) -> tuple[F64, F64, F64, F64, F64, F64]:
        """``_produce_numpy`` in one compiled pass; also sets tomorrow's capacity ratio (``c_next``, and
        ``dead``: whether any of it is 0), which ``_order`` reads."""
        n, b = self.n, self.b
        none = _ABSENT2
        extra = self.new_capacity(t)
        base_cap, split_cap, cap, x_opt, x, rat, self.c_next = np.empty((7, n, b))  # one allocation
        self.dead = self.k.produce(
            demand, self.alpha, self.x, self.amax, self.atau, t > 1, self.x0, self.capacity_loss(t),
            none if extra is None else extra, self.k_new if self.exp_on else none,
            none if self.stock_cap is None else self.stock_cap, C_FLOOR, base_cap, split_cap, cap, x_opt, x, rat,
            self.c_next,
        )  # fmt: skip
        if self.stock_cap is None:  # the first day: the inventory constraint of the initial stock
            x = self.k.inventory_cap(self.stock, self.inv_req, x_opt)
            rat = self.k.ratio(x, demand, 0.0)
        return base_cap, split_cap, cap, x_opt, x, rat

    def _msum(self, a: F64, w: F64) -> F64:
        """(a w).sum(axis=1) of (R, S, B) arrays (``w`` may be (R, S, 1)): one compiled pass on the fused path."""
        if self.fused:
            return self.k.msum(a, w)  # type: ignore[no-any-return]
        return (a * w).sum(axis=1)  # type: ignore[no-any-return]

    def _intensities(self) -> list[F64]:
        """Order intensity per origin class: V plus the redirected part U, (S, n, B) each."""
        if self.u is None:
            return [self.v] * len(self.classes)
        if self.tt is not None:  # the fused path added them as it set U (``_redirect_fused``)
            return self.tt
        return [self.v + u for u in self.u]

    # --------------------------------------------------------------------------- contractions --
    def _orders_received(self, tt: list[F64], pat: _Pattern | None) -> tuple[F64, list[F64], list[F64 | None]]:
        """Intermediate demand per supplier (R, S, B), and per block the orders at usual intensity (V) and
        redirected (U) as if its links were open: closed links take the share ``closed`` of the first, and
        all of the second where sanctioned at all (redirected orders only go to untouched links)."""
        r, s, b = self.r, self.s, self.b
        if len(self.classes) == 1:
            # As T' Z' (scenarios as the rows): the same sums, about 15% faster than Z T at these shapes.
            open_ = np.matmul(tt[0].transpose(0, 2, 1), self.zk_t).transpose(2, 0, 1)  # (R, S, B)
        else:
            open_ = np.empty((r, s, b))
            for c, rows in enumerate(self.classes):
                open_[rows] = np.matmul(tt[c].transpose(0, 2, 1), self.zkt_cls[c]).transpose(2, 0, 1)
        p_blk: list[F64] = []
        pu_blk: list[F64 | None] = []
        known, self.p_next = self.p_next, {}  # V has not changed since ``_blocked_exports`` multiplied these
        if pat is not None:
            v4 = self.v.reshape(s, r, s, b)
            for i, blk in enumerate(self.blocks):
                p = known[i] if i in known else np.matmul(blk.z, v4[:, blk.d])  # (S, D, O, B)
                p_blk.append(p)
                pu = None if self.u is None else np.matmul(blk.z, self.u[blk.cls].reshape(s, r, s, b)[:, blk.d])
                pu_blk.append(pu)
                cl, tc = pat.closed[i], pat.touched[i]
                if self.fused:  # each subtraction below in one compiled pass
                    if cl is not None:
                        self.k.block_sum(open_, blk.o, p, cl, _ABSENT3, False, -1.0)
                    if pu is not None and tc is not None:
                        self.k.block_sum(open_, blk.o, pu, tc, _ABSENT3, False, -1.0)
                    continue
                if cl is not None:
                    open_[blk.o] -= np.einsum("kdob,kdob->okb", p, cl)
                if pu is not None and tc is not None:
                    open_[blk.o] -= np.einsum("kdob,kdob->okb", pu, tc)
        return open_ * self.c_o, p_blk, pu_blk

    def _deliveries(self, tt: list[F64], rc: F64, pat: _Pattern | None, defer: bool = False) -> F64:
        """What buyers receive per (product, buyer), (S, n, B): sum_f Z0[f, j] r_f c_f m(f, j) T[k, j]; with
        ``defer`` (one origin class, no sanction pattern), without the factor T, which the caller applies."""
        r, s, b, n = self.r, self.s, self.b, self.n
        rc_k = rc.transpose(1, 0, 2)  # (S, R, B)
        if len(self.classes) == 1:
            add = np.matmul(self.zk_t, rc_k, out=self.buf2)
            if not defer:
                add *= tt[0]
        else:
            add = np.matmul(self.zkt_cls[0], rc_k[:, self.classes[0]], out=self.buf2)
            if not self.fused:
                add *= tt[0]
            for c in range(1, len(self.classes)):
                part = np.matmul(self.zkt_cls[c], rc_k[:, self.classes[c]])
                if self.fused:  # add x T_0 + part x T_c (the first class's factor on the first pass), in one pass
                    self.k.weigh_add(add, tt[0] if c == 1 else _ABSENT3, part, tt[c])
                    continue
                part *= tt[c]
                add += part
        if pat is not None:
            add4 = add.reshape(s, r, s, b)
            v4 = self.v.reshape(s, r, s, b)
            for i, blk in enumerate(self.blocks):
                cl, tc = pat.closed[i], pat.touched[i]
                if cl is None or tc is None:
                    continue
                if self.fused:  # the products and updates below in one compiled pass
                    u = _ABSENT3 if self.u is None else self.u[blk.cls]
                    self.k.block_deliveries(blk.zt, rc, blk.o, blk.d, cl, tc, self.v, u, add)
                    continue
                g = np.matmul(blk.zt, rc_k[:, None, blk.o] * cl)  # (S, D, S_b, B)
                g *= v4[:, blk.d]
                if self.u is not None:
                    gu = np.matmul(blk.zt, rc_k[:, None, blk.o] * tc)
                    gu *= self.u[blk.cls].reshape(s, r, s, b)[:, blk.d]
                    g += gu
                add4[:, blk.d] -= g
        return add.reshape(s, n, b)

    # ----------------------------------------------------------------------------- final demand --
    def _fd_redirect(self, t: int, active: B8, pat: _Pattern | None) -> list[F64] | None:
        """Per origin class, the factor F[k, rd, b] by which open final-demand flows grow (redirection).

        F is a ratio of final-demand flows into (k, rd), so the day's demand multiplier mu[k, rd] cancels out of it:
        it is computed from the cached baseline flows, and the flows it multiplies are scaled where they are used.
        """
        if pat is None or not self.ext.substitution:
            return None
        sub = self.sub_k  # (S, B)
        out = []
        for rows in self.classes:
            tau = self.tau_sub  # (S, 1, B): clocks of the destinations
            sig = np.empty((self.s, self.r, self.b))  # C order, as the compiled pass vectorises over it
            if len(self.classes) > 1 and self.bl.domestic[rows[0]]:
                np.multiply(sub[:, None], self.ramp(t, tau, self.speed_rd, key="substitution, cooperation"), out=sig)
                sig *= self.gamma_rd
            else:
                np.multiply(sub[:, None], self.ramp(t, tau, key="substitution"), out=sig)
            if self.fused:  # the line below in one compiled pass
                out.append(self.k.fd_factor(pat.blocked_fd, sig, active, pat.fd_tot))
            else:
                out.append(_safe_div(pat.blocked_fd * sig * active, pat.fd_tot))
        return out

    def _fd_supply(self, pat: _Pattern | None, f_cls: list[F64] | None) -> F64:
        """Final demand addressed to each supplier, (R, S, B)."""
        if self.fd_d is None and pat is None:  # the baseline's, the same every day (read-only)
            return self.y_sup0
        y_sup = self.y_sup0.copy()
        if self.fd_d is not None:  # sum_rd y[ro, k, rd] (mu - 1)[k, rd]; never below 0 by rounding (mu = 0)
            y_sup += np.matmul(self.y_kod, self.fd_d).transpose(1, 0, 2)
            np.maximum(y_sup, 0.0, out=y_sup)
        if pat is None:
            return y_sup
        if f_cls is not None:
            for c, rows in enumerate(self.classes):
                f = f_cls[c] if self.fd_m is None else f_cls[c] * self.fd_m
                y_sup[rows] += np.matmul(self.y_kod_cls[c], f).transpose(1, 0, 2)
        for i in range(len(self.blocks)):
            rem = self._fd_removed(pat, i, f_cls)
            if rem is not None and self.fused:
                self.k.block_sum(y_sup, self.blocks[i].o, rem, _ABSENT4, _ABSENT3, True, -1.0)
            elif rem is not None:
                y_sup[self.blocks[i].o] -= rem.sum(axis=1).transpose(1, 0, 2)
        return y_sup

    def _fd_removed(self, pat: _Pattern, i: int, f_cls: list[F64] | None) -> F64 | None:
        """Final demand that block i's links do not carry, (S, D, O, B): the closed share of the day's flow
        (baseline x mu), and the redirected final demand, which sanctioned links never receive. Computed once a
        day per block (``fd_rem``): every caller passes the day's pattern and factors."""
        if i in self.fd_rem:  # the day's, computed once (the supply, the flows and the trade by partner read it)
            return self.fd_rem[i]
        yc, yt = pat.y_closed[i], pat.y_touched[i]
        rem: F64 | None = None
        if yc is not None and yt is not None:
            blk = self.blocks[i]
            rem = self._fd_scaled(blk, yc if f_cls is None else yc + yt * f_cls[blk.cls][:, blk.d][:, :, None])
        self.fd_rem[i] = rem
        return rem

    def _fd_flows(self, rat3: F64, y_sup: F64, pat: _Pattern | None, f_cls: list[F64] | None) -> tuple[F64, F64, F64]:
        """Final demand delivered: to each destination (R, B), across bloc borders by origin (R, B), and
        the leakage premium paid by final buyers (R, B)."""
        r, s, b = self.r, self.s, self.b
        dm = self.fd_m  # the day's demand multiplier (S, R_d, B), None when 1
        rat_k = rat3.transpose(1, 0, 2)  # (S, R, B)
        to = np.zeros((s, r, b))  # (S, R_d, B)
        grown = None if f_cls is None else [1.0 + f for f in f_cls]  # 1 + F per class, read twice below
        for c, rows in enumerate(self.classes):
            part = np.matmul(self.y_cls[c], rat_k[:, rows])  # (S, R_d, B)
            if grown is not None:
                part = part * grown[c]
            to += part if dm is None else part * dm
        # Inside the bloc: own region for a partner, every domestic region for a domestic origin.
        if f_cls is None and dm is None and pat is None:  # the baseline's, the same every day (read-only)
            within = self.fd_within0
        elif f_cls is None:
            within = self.fd_within0.copy()  # (R, S, B); the domestic rows are set again below
            if dm is not None:  # own region: y[r, k, r] mu[k, r]
                within *= dm.transpose(1, 0, 2)
            if self.dom_idx.size:
                within[self.dom_idx] = self.y_dom_in[..., None]
                if self.fd_d is not None:
                    within[self.dom_idx] += np.einsum("kdo,kdb->okb", self.y_dd, self.fd_d[:, self.dom_idx])
        else:
            assert grown is not None
            grow_by_origin = np.empty((s, r, b))  # 1 + F for the origin's class, at the origin's own region
            for c, rows in enumerate(self.classes):
                grow_by_origin[:, rows] = grown[c][:, rows]
            if dm is not None:
                grow_by_origin *= dm
            within = np.empty((r, s, b))  # (R, S, B), C order: the compiled passes vectorise over its last axis
            np.multiply(self.y_diag[..., None].transpose(1, 0, 2), grow_by_origin.transpose(1, 0, 2), out=within)
            if self.dom_idx.size:
                dom = self.dom_idx
                grow = grown[self.cls_of[dom[0]]][:, dom]  # (S, R_dom_d, B)
                if dm is not None:
                    grow *= dm[:, dom]
                within[dom] = np.einsum("kdo,kdb->okb", self.y_dd, grow)
        premium = np.zeros((r, b))
        if pat is not None:
            for i, blk in enumerate(self.blocks):
                rem = self._fd_removed(pat, i, f_cls)
                if rem is None:
                    continue
                yl = pat.y_leak[i]
                if self.fused:  # the corrections and the premium below, each in one compiled pass
                    w = blk.within if blk.within.any() else _ABSENT2
                    self.k.fd_block(rem, rat3, blk.o, blk.d, w, to, within)
                    if yl is not None:
                        fd_m = _ABSENT3 if self.fd_m is None else self.fd_m
                        self.k.leak_premium(yl, _ABSENT4, fd_m, rat3, _ABSENT3, blk.o, blk.d, self.premium_k, premium)
                    continue
                rat_o = rat_k[:, None, blk.o]  # (S, 1, O, B)
                to[:, blk.d] -= np.einsum("kdob,kdob->kdb", rem, np.broadcast_to(rat_o, rem.shape))
                if blk.within.any():
                    within[blk.o] -= np.einsum("kdob,do->okb", rem, blk.within)
                if yl is not None:
                    yl = self._fd_scaled(blk, yl)
                    leaked = np.einsum("kdob,kdob->kdb", yl, np.broadcast_to(rat_o, yl.shape))
                    premium[blk.d] += (leaked * self.sh.sanctions.leakage_premium.T[:, None, :]).sum(axis=0)
        from_ = self._msum(rat3, y_sup)  # (R, B) all final demand delivered by each origin
        exports = from_ - self._msum(rat3, within)
        return to.sum(axis=0), exports, premium

    # ------------------------------------------------------------------------------- accounts --
    def _diagnostics(self, x: F64, rat3: F64, y_sup: F64, add: F64, div: _Diverted | None) -> tuple[F64, F64]:
        """Largest relative gap between production and deliveries by product, and the lowest inventory."""
        r, s, b = self.r, self.s, self.b
        produced = x.reshape(r, s, b).sum(axis=0)  # (S, B)
        got = add.reshape(s, r, s, b).sum(axis=(1, 2))  # into buyers' inventories, channel and diverted included
        got = got + (rat3 * y_sup).sum(axis=0)
        if div is not None:  # final demand of friendly buyers: from the targets instead of their other suppliers
            got = got + self._diverted_final(div, rat3).sum(axis=1)
        # Relative to production, or to a millionth of the baseline once production has collapsed: an output
        # of ~0 is delivered as ~1e-30 by the open-minus-closed contractions, which is no accounting error.
        resid = np.abs(got - produced) / np.maximum(produced, 1e-6 * self.x0_by_product)
        return resid.max(axis=0), self.stock.min(axis=(0, 1))

    def _accounts(
        self,
        t: int,
        x: F64,
        rat3: F64,
        d_int: F64,
        y_sup: F64,
        tt: list[F64],
        blocks: tuple[list[F64], list[F64 | None]],
        pat_o: _Pattern | None,
        pat_t: _Pattern | None,
        f_cls: list[F64] | None,
        ct_in: F64 | None,
        div: _Diverted | None,
        diag: tuple[F64, F64] | None,
    ) -> StepRecord:
        r, s, b = self.r, self.s, self.b
        sh = self.sh
        va = self._msum(x.reshape(r, s, b), self.va_coef)  # (R, B) real value added, at baseline prices
        fd, fd_exports, premium = self._fd_flows(rat3, y_sup, pat_t, f_cls)
        # Intermediate exports: all deliveries less those inside the origin's bloc.
        p_blk, pu_blk = blocks
        within = self._within_bloc(tt, p_blk, pu_blk, pat_o) * self.c_o
        exports = fd_exports + self._msum(rat3, d_int - within)
        if pat_o is not None:  # leakage premium on intermediate goods, by buying region
            for i, blk in enumerate(self.blocks):
                lk = pat_o.leak[i]
                if lk is None or not p_blk:
                    continue
                if self.fused:  # the lines below in one compiled pass
                    self.k.leak_premium(p_blk[i], lk, _ABSENT3, rat3, self.c_o, blk.o, blk.d, self.premium_k, premium)
                    continue
                rc = (rat3 * self.c_o)[blk.o].transpose(1, 0, 2)[:, None]  # (S, 1, O, B)
                leaked = np.einsum("kdob,kdob->kdb", p_blk[i] * lk, np.broadcast_to(rc, lk.shape))
                premium[blk.d] += (leaked * sh.sanctions.leakage_premium.T[:, None, :]).sum(axis=0)
        ct_exp = np.zeros((r, b))
        ct_imp = np.zeros((r, b))
        diverted = displaced = received = None
        div_cut: F64 | None = None
        if div is not None:  # what the targets deliver to friendly buyers, and what the others no longer deliver
            tgt = self.tgt_idx
            sold = rat3[tgt] * div.into  # (R_t, S, B)
            moved = div.moved_z + div.moved_y  # (S, F, B)
            if self.fused:
                cross = self.k.cross_share(self.div_foreign, moved)
            else:
                cross = _safe_div(np.einsum("tf,kfb->tkb", self.div_foreign, moved), moved.sum(axis=1)[None])
            exports[tgt] += (sold * cross).sum(axis=1)
            lost = rat3 * div.out  # (R, S, B), every such delivery crosses a border
            exports -= lost.sum(axis=1)
            ct_exp[tgt] = (sold * self.div_ctf).sum(axis=1)
            div_cut = (sold * (1.0 - self.div_ctf) * self.export_discount[None]).sum(axis=1)  # (R_t, B)
            final = self._diverted_final(div, rat3)  # (S, F, B)
            fd[self.div_f] += final.sum(axis=0)
            diverted, displaced = np.zeros((r, b)), lost.sum(axis=1)
            diverted[tgt] = sold.sum(axis=1)
            received = np.zeros((r, b))  # the friendly buyers' net change of receipts, counted on their side
            inter = div.inter if div.inter is not None else self._diverted_intermediate(div, rat3)
            received[self.div_f] = (self.k.sum02(inter) if self.fused else inter.sum(axis=(0, 2))) + final.sum(axis=0)
        if ct_in is not None:
            if self.tgt_idx.size and self.fused:  # the lines below in one compiled pass
                self.k.channel_exports(self.ct_q, self.foreign_t, self.ct_phi, rat3, exports)
            elif self.tgt_idx.size:  # the friendly suppliers' sales to the targets through the channel
                bought = self.ct_q.reshape(s, -1, s, b).sum(axis=2)  # (S, R_t, B)
                crossing = np.einsum("od,kdb->okb", self.foreign_t, bought)  # (R_o, S, B)
                exports += (self.ct_phi * rat3 * crossing).sum(axis=1)
            each = ct_in.reshape(s, -1, s, b)
            ct_imp[self.tgt_idx] = self.k.sum02(each) if self.fused else each.sum(axis=(0, 2))
            self._settle_counter_trade(t, ct_exp, ct_in)
        # Real income: premia and discounts are income transfers, not a loss of volume.
        income = va - premium - sh.counter_trade.discount * ct_exp
        if div_cut is not None:  # diverted exports sold for money, below the world price
            income[self.tgt_idx] -= div_cut
        leaked = self._leaked(rat3, p_blk, pat_o, pat_t) if self.discount_on or self.trade else []
        if self.discount_on:  # the targets' leaked exports sell below the world price
            for blk, lk in leaked:
                cut = (lk * self.export_discount[:, None, None, :]).sum(axis=(0, 1))  # (O, B)
                income[blk.o] -= cut * self.is_target[blk.o, None]
        volume = value = None
        if self.trade or self.price_on:
            # Deliveries by origin and destination summed over products: in volume (trade by partner) and
            # weighted by p_k - 1 (the terms of trade).
            dp = self.price_change(t) if self.price_on else None
            weights = ([None] if self.trade else []) + ([dp] if dp is not None else [])
            channel = self._channel(rat3) if ct_in is not None and self.tgt_idx.size else None
            sums = self._bilateral(rat3, tt, p_blk, pu_blk, pat_o, pat_t, f_cls, channel, div, weights)
            gain = sums[-1] if dp is not None else None  # (R_d, R_o, B): sum_k (p_k - 1) flow_k
            if gain is not None:  # sum_k (p_k - 1) (exports_k - imports_k) across the bloc border
                income += np.einsum("dob,od->ob", gain, self.foreign) - np.einsum("dob,od->db", gain, self.foreign)
            if self.trade:
                volume, value = self._trade_values(sums[0], gain, leaked, div, rat3)
        day_fd = None  # the day's final demand by destination, fd0 + sum_k y[k, rd] (mu - 1)[k, rd]
        if self.fd_d is not None:
            day_fd = self.fd0[:, None] + np.einsum("kd,kdb->db", self.y_kd, self.fd_d)
        zero = np.zeros(b)
        balance, min_stock = diag if diag is not None else (zero, zero)
        return StepRecord(
            production=x,
            va=va,
            income=income,
            final_delivered=fd,
            exports=exports,
            ct_exports=ct_exp,
            ct_imports=ct_imp,
            premium=premium,
            balance_residual=balance,
            min_stock=min_stock,
            trade_volume=volume,
            trade_value=value,
            final_demand=day_fd,
            diverted=diverted,
            displaced=displaced,
            diverted_received=received,
        )

    # --------------------------------------------------------------------------- trade by partner --
    def _leaked(
        self, rat3: F64, p_blk: list[F64], pat_o: _Pattern | None, pat_t: _Pattern | None
    ) -> list[tuple[_Block, F64]]:
        """Per block with leaked links, the flows delivered through third countries, (S, D, O, B): intermediate
        goods ordered yesterday (``pat_o``) and today's final demand (``pat_t``), as the premium counts them."""
        out: list[tuple[_Block, F64]] = []
        rat_k = rat3.transpose(1, 0, 2)  # (S, R, B)
        rc_k = (rat3 * self.c_o).transpose(1, 0, 2)
        for i, blk in enumerate(self.blocks):
            total: F64 | None = None
            lk = pat_o.leak[i] if pat_o is not None and p_blk else None
            if lk is not None:
                total = p_blk[i] * lk * rc_k[:, None, blk.o]
            yl = pat_t.y_leak[i] if pat_t is not None else None
            if yl is not None:
                part = self._fd_scaled(blk, yl) * rat_k[:, None, blk.o]
                total = part if total is None else total + part
            if total is not None:
                out.append((blk, total))
        return out

    def _bilateral(
        self,
        rat3: F64,
        tt: list[F64],
        p_blk: list[F64],
        pu_blk: list[F64 | None],
        pat_o: _Pattern | None,
        pat_t: _Pattern | None,
        f_cls: list[F64] | None,
        channel: tuple[F64, F64] | None,
        div: _Diverted | None,
        weights: list[F64 | None],
    ) -> list[F64]:
        """Deliveries from each origin region to each destination region, intermediate + final + counter-trade,
        leaked flows included, summed over products with each of ``weights`` (w[k, b], (S, B); None: 1 — volume):
        sum_k w_k flow_k[ro -> rd], (R_d, R_o, B) each.

        The same flows as ``_deliveries``, ``_fd_flows`` and the channel, resolved by origin. The orders on every
        link as if open, W[k, rd, ro, b] = sum over the buyers' sectors of Z0 x intensity (one batched matrix
        product per origin class, the only (S, R, R, B) arrays), are weighted by the origin's capacity ratio x
        rationing x w_k and summed over products; final demand (with its redirected part) is added; the closed
        share of the usual orders, the redirected orders on sanctioned links and the final demand those links
        do not carry are taken out block by block, on the blocks' own small arrays, as ``_deliveries`` and
        ``_fd_flows`` do. Summed over destinations (in volume) it is each supplier's production.
        """
        r, s, b = self.r, self.s, self.b
        # Per origin class, (S, R_d, R_c, B); always per class, so that a scenario's bits do not depend on whether
        # its companions have redirected orders.
        orders = [np.matmul(self.z_links_cls[c], tt[c].reshape(s, r, s, b)) for c in range(len(self.classes))]
        rc_k = (rat3 * self.c_o).transpose(1, 0, 2)  # (S, R_o, B)
        rat_k = rat3.transpose(1, 0, 2)
        if self.fused:  # C order: the compiled passes vectorise only over a last axis they know is contiguous
            rc_k, rat_k = np.ascontiguousarray(rc_k), np.ascontiguousarray(rat_k)
        shut: list[F64 | None] = []  # per block, the intermediate orders its links do not carry, (S, D, O, B)
        for i in range(len(self.blocks)):
            part: F64 | None = None
            if pat_o is not None:
                cl, tc, pu = pat_o.closed[i], pat_o.touched[i], pu_blk[i]
                if cl is not None:
                    part = p_blk[i] * cl
                if pu is not None and tc is not None:
                    part = pu * tc if part is None else part + pu * tc
            shut.append(part)
        removed = [None if pat_t is None else self._fd_removed(pat_t, i, f_cls) for i in range(len(self.blocks))]
        out = []
        for w in weights:
            rcw = rc_k if w is None else rc_k * w[:, None]
            ratw = rat_k if w is None else rat_k * w[:, None]
            m = np.empty((r, r, b))  # (R_d, R_o, B)
            for rows, w_links in zip(self.classes, orders, strict=True):
                if self.fused:
                    self.k.link_sum(w_links, rcw, self.all_regions, rows, m, True)
                else:
                    m[:, rows] = np.einsum("kdob,kob->dob", w_links, rcw[:, rows])
            # Final demand, sum_k y[ro, k, rd] mu[k, rd] rat w (the day's change as a correction), and its
            # redirected part F (0 where nothing is redirected).
            m += np.matmul(self.y_odk, ratw.transpose(1, 0, 2)).transpose(1, 0, 2)
            if self.fd_d is not None:
                m += np.einsum("odk,kdb,okb->dob", self.y_odk, self.fd_d, ratw.transpose(1, 0, 2))
            if f_cls is not None:
                for c, rows in enumerate(self.classes):
                    f = f_cls[c] if self.fd_m is None else f_cls[c] * self.fd_m
                    if self.fused:  # the two lines below in one compiled pass (not bit for bit: see link_fd)
                        self.k.link_fd(self.y_dok_cls[c], f, ratw, rows, m)
                        continue
                    grown = f.transpose(1, 0, 2)[:, None] * ratw[:, rows].transpose(1, 0, 2)[None]
                    m[:, rows] += np.matmul(self.y_dok_cls[c][:, :, None], grown)[:, :, 0]  # sum over products
            for i, blk in enumerate(self.blocks):
                links = (blk.d[:, None], blk.o[None, :])
                part, rem = shut[i], removed[i]
                if self.fused:  # the same subtractions, each in one compiled pass
                    if part is not None:
                        self.k.link_sum(part, rcw, blk.d, blk.o, m, False)
                    if rem is not None:
                        self.k.link_sum(rem, ratw, blk.d, blk.o, m, False)
                    continue
                if part is not None:
                    m[links] -= np.einsum("kdob,kob->dob", part, rcw[:, blk.o])
                if rem is not None:
                    m[links] -= np.einsum("kdob,kob->dob", rem, ratw[:, blk.o])
            if channel is not None:  # the counter-trade channel's imports (``_channel``)
                m[self.tgt_idx] += self._channel_links(*channel, w)
            if div is not None and self.fused:  # the lines below, in two compiled passes
                self.k.div_lost(div.lost_z, div.lost_y, ratw, self.div_f, m)
                g = np.ascontiguousarray(self.div_share.transpose(1, 0, 2) * ratw[:, self.tgt_idx])  # (S, R_t, B)
                self.k.moved_pairs(g, div.moved_z, div.moved_y, self.div_f, self.tgt_idx, m, 1.0)
            elif div is not None:  # diverted orders: friendly buyers take from the targets, not their other suppliers
                lost = (div.lost_z + div.lost_y) * ratw[:, None]  # (S, F, R_o, B)
                m[self.div_f] -= lost.sum(axis=0)
                gain = self.div_share.transpose(1, 0, 2)[:, None] * ratw[:, None, self.tgt_idx]  # (S, 1, R_t, B)
                m[np.ix_(self.div_f, self.tgt_idx)] += (gain * (div.moved_z + div.moved_y)[:, :, None]).sum(axis=0)
            out.append(m)
        return out

    def _channel(self, rat3: F64) -> tuple[F64, F64]:
        """The counter-trade channel's imports by product: ``bought`` (S, R_t, B) the target regions' channel
        import orders and ``supplied`` (S, R, B) the share of them each origin delivers, so that origin o delivers
        ``supplied[k, o] * bought[k, d]`` to target region d. (The channel's exports are diverted orders.)"""
        s, b = self.s, self.b
        bought = self.ct_q.reshape(s, -1, s, b).sum(axis=2)
        supplied = (self.ct_phi * rat3).transpose(1, 0, 2)
        return bought, supplied

    def _channel_links(self, bought: F64, supplied: F64, weight: F64 | None) -> F64:
        """The channel's imports summed over products, weighted by ``weight`` (S, B) if given: into the target
        regions from each origin, (R_t, R_o, B)."""
        orders = bought if weight is None else bought * weight[:, None]
        return np.matmul(orders.transpose(2, 1, 0), supplied.transpose(2, 0, 1)).transpose(1, 2, 0)  # type: ignore[no-any-return]

    def _trade_values(
        self,
        volume: F64,
        gain: F64 | None,
        leaked: list[tuple[_Block, F64]],
        div: _Diverted | None,
        rat3: F64,
    ) -> tuple[F64, F64]:
        """Deliveries by origin and destination region summed over products, (R_o, R_d, B): in volume, and in
        value: volume + sum_k (p_k(t) - 1) flow_k (``gain``), less the counter-trade discount on bartered exports
        and the export discount on the targets' leaked exports (both at baseline prices, as in real income),
        plus the leakage premium the destination pays on leaked imports."""
        value = volume.copy() if gain is None else volume + gain
        if div is not None:  # diverted exports: bartered at the channel's discount, the rest at the export discount
            tgt = self.tgt_idx
            cut = self.div_ctf * self.sh.counter_trade.discount + (1.0 - self.div_ctf) * self.export_discount[None]
            sold = (self.div_share * rat3[tgt] * cut).transpose(1, 0, 2)[:, None]  # (S, 1, R_t, B)
            if self.fused:  # the line below in one compiled pass
                sold_c = np.ascontiguousarray(sold[:, 0])  # C order: the compiled pass vectorises over B
                self.k.moved_pairs(sold_c, div.moved_z, div.moved_y, self.div_f, tgt, value, -1.0)
            else:
                value[np.ix_(self.div_f, tgt)] -= (sold * (div.moved_z + div.moved_y)[:, :, None]).sum(axis=0)
        for blk, lk in leaked:
            charge = np.einsum("kdob,kb->dob", lk, self.premium_k)
            if self.discount_on:
                charge -= np.einsum("kdob,kb->dob", lk, self.export_discount) * self.is_target[blk.o, None]
            value[blk.d[:, None], blk.o[None, :]] += charge
        return volume.transpose(1, 0, 2), value.transpose(1, 0, 2)

    def _within_bloc(self, tt: list[F64], p_blk: list[F64], pu_blk: list[F64 | None], pat: _Pattern | None) -> F64:
        """Intermediate orders from inside each origin's bloc, (R, S, B), before the capacity ratio c_o.

        The own region for a partner, every domestic region for a domestic origin; closed links inside a
        bloc (rare: a sanction between two regions of one bloc) are taken out.
        """
        s, r, b = self.s, self.r, self.b
        if self.fused:
            within = self.k.within_bloc(self.bl.z_by_product, tt[0], tt[-1], self.cls_of, self.own)
            dom = self.dom_idx
            if dom.size:  # the same product as the numpy path's, on a view of the rows when they are contiguous
                t_dom = tt[self.cls_of[dom[0]]]
                rows = t_dom[:, self.dom_rows] if self.dom_rows is not None else t_dom[:, self.dom_cols]
                within[dom] = np.matmul(self.z_dd, rows).transpose(1, 0, 2)
        else:
            within = np.empty((r, s, b))
            for c, rows in enumerate(self.classes):
                t4 = tt[c].reshape(s, r, s, b)
                within[rows] = np.einsum("krs,krsb->rkb", self.z_diag[:, rows], t4[:, rows])
            dom = self.dom_idx
            if dom.size:
                t_dom = tt[self.cls_of[dom[0]]]
                within[dom] = np.matmul(self.z_dd, t_dom[:, self.dom_cols]).transpose(1, 0, 2)
        if pat is not None:
            for i, blk in enumerate(self.blocks):
                cl, tc, pu = pat.closed[i], pat.touched[i], pu_blk[i]
                if cl is not None and blk.within.any():
                    within[blk.o] -= np.einsum("kdob,kdob,do->okb", p_blk[i], cl, blk.within)
                    if pu is not None and tc is not None:
                        within[blk.o] -= np.einsum("kdob,kdob,do->okb", pu, tc, blk.within)
        return within  # type: ignore[no-any-return]

    # ---------------------------------------------------------------------------------- orders --
    def _order(
        self,
        t: int,
        x_opt: F64,
        use: F64 | None,
        cap: F64,
        active: B8,
        pat: _Pattern | None,
        x: F64,
        settle: tuple[F64, F64, bool] | None = None,
    ) -> None:
        """Tomorrow's orders: use plus the inventory gap closed at 1/tau_inv, split over suppliers. ``settle``
        (the fused path): the day's deliveries, the intensities they still need multiplying by and whether they
        do; inventories are settled here, in the same passes, and ``use`` is None."""
        s, r, b, n = self.s, self.r, self.b, self.n
        if settle is not None:  # tomorrow's capacity ratio from ``_produce``
            c3 = self.c_next.reshape(r, s, b)
            c_k = c3.transpose(1, 0, 2)  # (S, R, B)
            w_all = np.matmul(self.zk_t, c_k, out=self.buf4)  # (S, n, B), without wfix: the kernel adds it
            dead = self.dead
            add, mult, deferred = settle
            settled = self.buf3  # the settled inventories; the old array becomes the spare buffer
            self.k.settle_and_order(
                add, mult, deferred, self.tech, x, self.stock, settled, self.td, x_opt, self.itau,
                w_all, self.wfix, dead, self.v, pat is not None, self.inv_req, self.stock_cap_next, _RTOL, _ATOL,
            )  # fmt: skip
            self.stock_cap = self.stock_cap_next
            self.stock, self.buf3 = settled, self.stock
            need = add  # need, and w_all with wfix, where the sanctioned path reads them
            self._order_split(t, need, w_all, c_k, c3, dead, active, pat)
            return
        assert use is not None
        goal = np.multiply(self.td, x_opt[None], out=self.buf1)
        gap = np.subtract(goal, self.stock, out=self.buf2)
        goal_sum = (x_opt * self.td_sum).sum(axis=0)  # (B,)
        if _surely_apart(self.stock.sum(axis=(0, 1)), goal_sum, self.tech.size).all():
            close = self.never
        else:  # BoARIO: numpy.allclose(stock, goal) -> no gap at all
            chk = np.abs(gap, out=self.buf4)
            goal *= _RTOL
            chk -= goal
            close = chk.max(axis=(0, 1)) <= _ATOL
        np.maximum(gap, 0.0, out=gap)
        gap *= np.where(close, 0.0, self.itau)
        need = np.add(gap, use, out=self.buf2)  # (S, n, B)
        c = np.ones((n, b))
        np.divide(cap, self.x0, out=c, where=self.x0 != 0)
        c[c < C_FLOOR] = 0.0  # splits no orders: a dead supplier
        c3 = c.reshape(r, s, b)
        c_k = c3.transpose(1, 0, 2)  # (S, R, B)
        w_all = np.matmul(self.zk_t, c_k, out=self.buf4)  # (S, n, B)
        w_all += self.wfix  # no supplier of k at all: the need is 0 there, avoid 0 / 0
        dead = bool((c == 0).any())  # a supplier with no capacity left: its buyers' weights may all be 0
        if dead:
            self.v = _safe_div(need, w_all)
        else:
            np.divide(need, w_all, out=self.v)
        self._order_split(t, need, w_all, c_k, c3, dead, active, pat)

    def _order_split(
        self, t: int, need: F64, w_all: F64, c_k: F64, c3: F64, dead: bool, active: B8, pat: _Pattern | None
    ) -> None:
        """Tomorrow's orders, given the intensities V: what the sanctions redirect (U), counter-trade, diversion."""
        s, r, b = self.s, self.r, self.b
        ext = self.ext
        self.c_o = c3
        if pat is None:
            self.u = None
            self._order_adaptation(t, active, None, None)
            return
        # Weight of the suppliers still reachable (the baseline split less the closed part of each link),
        # and of those that can take redirected orders: untouched by the sanction (and, under cooperation,
        # the domestic suppliers' part of it on its own).
        split = len(self.classes) > 1
        if self.fused:  # both in one compiled pass
            w_open = np.empty_like(w_all)
            w_red = np.empty_like(w_all) if ext.substitution else None
            self.k.open_weights(w_all, self.wfix, w_open, _ABSENT3 if w_red is None else w_red)
        else:
            w_open = np.subtract(w_all, self.wfix)
            w_red = w_open.copy() if ext.substitution else None
        w_dom = np.matmul(self.zkt_cls[0], c_k[:, self.classes[0]]) if split and ext.substitution else None
        for i, blk in enumerate(self.blocks):
            cl, tc = pat.closed[i], pat.touched[i]
            if cl is None or tc is None:
                continue
            if self.fused:  # the products and updates below in one compiled pass
                dom = w_dom if w_dom is not None and blk.cls == 0 else _ABSENT3
                red = _ABSENT3 if w_red is None else w_red
                self.k.block_weights(blk.zt, c3, blk.o, blk.d, cl, tc, w_open, red, dom)
                continue
            w_open.reshape(s, r, s, b)[:, blk.d] -= np.matmul(blk.zt, c_k[:, None, blk.o] * cl)
            if w_red is not None:
                g = np.matmul(blk.zt, c_k[:, None, blk.o] * tc)  # (S, D, S_b, B)
                w_red.reshape(s, r, s, b)[:, blk.d] -= g
                if w_dom is not None and blk.cls == 0:
                    w_dom.reshape(s, r, s, b)[:, blk.d] -= g
        sig, sig_d = self._clocks(t, active, w_red is not None, w_dom is not None)
        # unfilled (S, R_t, S_b, B): the target buyers' needs no supplier takes, for the barter channel
        if self.fused:
            self.u, unfilled = self._redirect_fused(need, w_open, w_all, w_red, w_dom, dead, sig, sig_d)
        else:
            blocked, q, self.u = self._redirect(need, w_open, w_all, w_red, w_dom, dead, sig, sig_d)
            unfilled = self._unfilled(blocked, q, self.u, w_red, w_dom, sig, sig_d) if self.want_unfilled else None
        self._order_adaptation(t, active, pat, unfilled)

    def _clocks(self, t: int, active: B8, substitution: bool, split: bool) -> tuple[F64, F64]:
        """The share of a blocked need redirected today, sub x ramp x [in force], per (product, buyer region,
        scenario): sig, and sig_d for domestic buyers under cooperation (their faster clock, times gamma); an empty
        array where not needed (no substitution, no split)."""
        empty = _ABSENT3
        if not substitution:
            return empty, empty
        sub, tau = self.sub_k, self.tau_sub  # (S, B), (S, 1, B)
        # (S, R_d, B): each buyer's clock, in C order: the compiled passes that read it vectorise only over arrays
        # whose last axis they know is contiguous.
        sig = np.multiply(sub[:, None], self.ramp(t, tau, key="substitution"), out=np.empty((self.s, self.r, self.b)))
        sig *= active
        if not split:
            return sig, empty
        sig_d = np.multiply(sub[:, None], self.ramp(t, tau, self.speed_rd, key="substitution, cooperation"),
                            out=np.empty((self.s, self.r, self.b)))  # fmt: skip
        sig_d *= active
        sig_d *= self.gamma_rd  # (S, R_d, B)
        return sig, sig_d

    def _redirect(
        self, need: F64, w_open: F64, w_all: F64, w_red: F64 | None, w_dom: F64 | None, dead: bool, sig: F64, sig_d: F64
    ) -> tuple[F64, F64 | None, list[F64] | None]:
        """The blocked need, the share redirected q, and U per origin class (None without substitution), from the
        reachable (``w_open``) and redirectable (``w_red``, changed in place) weights after the blocks' corrections."""
        s, r, b, n = self.s, self.r, self.b, self.n
        blocked = _safe_div(w_open, w_all) if dead else np.divide(w_open, w_all)
        np.subtract(1.0, blocked, out=blocked)  # share of the need that cannot reach its usual suppliers
        np.maximum(blocked, 0.0, out=blocked)
        blocked *= need
        if w_red is None:
            return blocked, None, None
        if w_dom is not None:  # domestic buyers weight domestic suppliers by gamma
            w_red.reshape(s, r, s, b)[:, self.dom_idx] += (self.gamma_rd[self.dom_idx] - 1.0)[
                None, :, None
            ] * w_dom.reshape(s, r, s, b)[:, self.dom_idx]
        # Suppliers holding less than a millionth of the buyer's baseline purchases take no redirected
        # orders: it keeps the redirected intensity bounded (the orders are computed for all links
        # and the sanctioned ones taken out again, which would lose digits to a huge intensity).
        w_red[w_red < _MIN_SHARE * w_all] = 0.0
        q = _safe_div(blocked, w_red)
        q4 = q.reshape(s, r, s, b)
        if w_dom is None:
            return blocked, q, [(q4 * sig[:, :, None]).reshape(s, n, b)]
        # u_dom = blocked sig_d gamma / W_g, u_for = blocked sig / W_g, W_g = W_red + (gamma - 1) W_dom,
        # and domestic buyers ramp faster (sig_d).
        return blocked, q, [(q4 * sig_d[:, :, None]).reshape(s, n, b), (q4 * sig[:, :, None]).reshape(s, n, b)]

    def _unfilled(
        self, blocked: F64, q: F64 | None, us: list[F64] | None, w_red: F64 | None, w_dom: F64 | None, sig: F64,
        sig_d: F64,
    ) -> F64:  # fmt: skip
        """The target buyers' needs no supplier takes, (S, R_t, S_b, B), for the barter channel: the blocked need
        less what is redirected, q (sig W_red + sig_d gamma W_dom) under cooperation, U W_red without."""
        s, r, b = self.s, self.r, self.b
        tcols = self.tgt_idx

        def on_targets(a: F64) -> F64:
            return a.reshape(s, r, s, b)[:, tcols]  # type: ignore[no-any-return]

        unfilled = on_targets(blocked).copy()
        if w_red is not None and us is not None and w_dom is None:
            unfilled -= on_targets(us[0]) * on_targets(w_red)
        elif w_red is not None and q is not None and w_dom is not None:  # redirected: q (sig W + sig_d gamma W_dom)
            w_dom_t = on_targets(w_dom)
            moved = sig_d[:, tcols, None] * w_dom_t
            moved += sig[:, tcols, None] * (on_targets(w_red) - self.gamma_rd[tcols][None, :, None] * w_dom_t)
            unfilled -= on_targets(q) * moved
        return unfilled

    def _redirect_fused(
        self, need: F64, w_open: F64, w_all: F64, w_red: F64 | None, w_dom: F64 | None, dead: bool, sig: F64, sig_d: F64
    ) -> tuple[list[F64] | None, F64 | None]:
        """``_redirect`` and ``_unfilled`` in one compiled pass (``fused.redirect``), which also writes tomorrow's
        V + U per class (``self.tt``): U per origin class (None without substitution) and the unfilled needs (None
        without counter-trade)."""
        s, b, n = self.s, self.b, self.n
        empty = _ABSENT3
        split = w_dom is not None
        if w_red is not None and self.red_bufs is None:
            # Kept across days: written in place each day after the day's last reads of U and V + U; U stays 0
            # for the buyers not in ``keep_u`` (never read).
            self.red_bufs = np.zeros((4, s, n, b))
        u0, t0, u1, t1 = (empty,) * 4 if self.red_bufs is None else self.red_bufs
        if not split:
            u1 = t1 = empty
        unfilled = np.empty((s, self.tgt_idx.size, s, b)) if self.want_unfilled else None
        self.k.redirect(
            w_open, w_all, need, dead, empty if w_red is None else w_red, empty if w_dom is None else w_dom,
            self.gamma_rd, self.bl.domestic, sig, sig_d, split, _MIN_SHARE, self.keep_u, self.tgt_pos, u0, u1, self.v,
            t0, t1, empty if unfilled is None else unfilled.reshape(s, -1, b),
        )  # fmt: skip
        if w_red is None:
            self.tt = None
            return None, unfilled
        self.tt = [t0, t1] if split else [t0]
        return [u0, u1] if split else [u0], unfilled

    # ---------------------------------------------------------------------------- counter-trade --
    def _order_adaptation(self, t: int, active: B8, pat: _Pattern | None, unfilled: F64 | None) -> None:
        """Tomorrow's counter-trade orders and diverted orders."""
        blocked = self._blocked_exports(pat) if pat is not None and (self.div_on or self.ext.counter_trade) else None
        offer = self._order_counter_trade(t, active, blocked, unfilled) if self.ext.counter_trade else None
        self.ct_offer = offer  # (R_t, S, B) or None: what the channel offers the friendly buyers tomorrow
        if self.div_on:
            self._place_diversion(t, active, blocked, offer)

    def _blocked_exports(self, pat: _Pattern) -> F64:
        """The target regions' exports the coalition no longer buys and other buyers could take, (R_t, S, B):
        orders (at tomorrow's intensities and capacity ratios) and final demand on the divertible closed share of
        their links."""
        s, r, b = self.s, self.r, self.b
        out = np.zeros((r, s, b))
        v4 = self.v.reshape(s, r, s, b)
        for i, blk in enumerate(self.blocks):
            cl = pat.closed[i] if pat.closed_div is None else pat.closed_div[i]
            if cl is None or not self.is_target[blk.o].any():
                continue
            p = np.matmul(blk.z, v4[:, blk.d])  # (S, D, O, B) orders at usual intensities
            self.p_next[i] = p  # tomorrow's orders received at usual intensities: the same product
            yc = pat.y_closed[i] if pat.closed_div is None else blk.y[..., None] * cl
            assert yc is not None
            if self.fused:  # each addition below in one compiled pass
                self.k.block_sum(out, blk.o, p, cl, self.c_o, False, 1.0)
                self.k.block_sum(out, blk.o, self._fd_scaled(blk, yc), _ABSENT4, _ABSENT3, True, 1.0)
                continue
            out[blk.o] += np.einsum("kdob,kdob->okb", p, cl) * self.c_o[blk.o]
            out[blk.o] += self._fd_scaled(blk, yc).sum(axis=1).transpose(1, 0, 2)
        return out[self.tgt_idx]

    def _order_counter_trade(self, t: int, active: B8, blocked: F64 | None, unfilled: F64 | None) -> F64 | None:
        """Counter-trade for tomorrow: the blocked exports offered to friendly buyers through the channel,
        (R_t, S, B) (returned; they join the diverted orders), and the imports bought with the proceeds, never
        beyond the credit earned (the channel balances in value)."""
        s = self.s
        sh = self.sh
        ring = self.credit_ring
        self.credit += ring[t % ring.shape[0]]
        ring[t % ring.shape[0]] = 0.0
        if blocked is None or unfilled is None or self.tgt_idx.size == 0:
            self.ct_q = np.zeros((s, self.tgt_idx.size * s, self.b))
            return None
        tgt = self.tgt_idx
        eps = sh.counter_trade.efficiency * self.ramp(t, sh.counter_trade.tau)[tgt] * active  # (R_t, B)
        want = blocked * eps[:, None, :]
        tot = want.sum(axis=(0, 1))
        offer = want * np.minimum(1.0, _safe_div(self.ct_cap, tot))
        # Imports bought with the proceeds: unfilled needs of target buyers, from friendly suppliers.
        wish = unfilled.reshape(s, -1, self.b)
        if self.fused:  # the lines below in one compiled pass
            budget = np.maximum(np.minimum(self.credit, self.ct_cap), 0.0)
            self.ct_q = np.empty_like(wish)
            self.k.ct_buy(wish, self.ct_has_supply & (eps.max(axis=0) > 0), budget, self.ct_q, self.credit)
            return offer  # type: ignore[no-any-return]
        wish *= (self.ct_has_supply * (eps.max(axis=0) > 0))[:, None, :]
        tot_w = wish.sum(axis=(0, 1))
        budget = np.maximum(np.minimum(self.credit, self.ct_cap), 0.0)
        self.ct_q = wish * np.minimum(1.0, _safe_div(budget, tot_w))
        self.credit -= self.ct_q.sum(axis=(0, 1))
        return offer  # type: ignore[no-any-return]

    # ------------------------------------------------------------------------------ export diversion --
    def _place_diversion(self, t: int, active: B8, blocked: F64 | None, ct_offer: F64 | None) -> None:
        """Tomorrow's diverted orders: the friendly buyers take the share diversion x ramp of the targets' blocked
        exports, plus what the counter-trade channel offers, moving that much of their orders for each product
        from their other foreign suppliers to the targets, at most the share ``absorption`` of those orders.

        Sets theta[k] = accepted / M[k] (the share of the friendly buyers' orders for k from their other
        suppliers that goes to the targets, M[k] those orders at tomorrow's intensities), the targets' shares of
        it (in proportion to what each offers) and the counter-trade part of each target's offer."""
        s, r, b = self.s, self.r, self.b
        self.div_theta = np.zeros((s, b))
        if blocked is None:
            return
        offer = np.zeros((self.tgt_idx.size, s, b))
        if self.div_dv.any():
            ramp = self.ramp(t, self.div_tau[:, None])[:, self.tgt_idx]  # (S, R_t, B): each target's clock
            offer += blocked * (self.div_dv[:, None] * ramp * active).transpose(1, 0, 2)
        if ct_offer is not None:
            offer += ct_offer
        total = offer.sum(axis=0)  # (S, B)
        if not total.any():
            return
        orders = np.matmul(self.div_zt, self.v.reshape(s, r, s, b)[:, self.div_f])  # (S, F, R_o, B)
        self.div_orders = orders  # tomorrow's orders are these (V and c_o hold until then): ``_diverted`` reuses them
        m = np.einsum("kfob,okb->kfb", orders, self.c_o) + self._div_final_orders()
        m = (m * self.div_w[None]).sum(axis=1)  # (S, B)
        accepted = np.minimum(total, self.div_abs * m)
        self.div_theta = _safe_div(accepted, m)
        self.div_share = _safe_div(offer, total[None])
        self.div_ctf = _safe_div(ct_offer, offer) if ct_offer is not None else np.zeros_like(offer)

    def _div_final_orders(self) -> F64:
        """The friendly buyers' final demand for each product from their other foreign suppliers, (S, F, B)."""
        y = self.div_y.sum(axis=2)[..., None]  # (S, F, 1)
        return y * self.fd_m[:, self.div_f] if self.fd_m is not None else np.repeat(y, self.b, axis=2)  # type: ignore[no-any-return]

    def _diverted(self) -> _Diverted | None:
        """The day's diverted orders (placed yesterday as theta, applied to today's orders), or None."""
        th = self.div_theta
        if not th.any():
            return None
        assert self.div_orders is not None  # theta > 0 only once ``_place_diversion`` has set both
        if self.fused:  # the passes below in one compiled pass
            s, r, b = self.s, self.r, self.b
            f = self.div_f.size
            lost, moved, out = np.empty((2, *self.div_orders.shape)), np.empty((2, s, f, b)), np.empty((r, s, b))
            fd_m = _ABSENT3 if self.fd_m is None else np.ascontiguousarray(self.fd_m[:, self.div_f])
            scale3 = th[:, None] * self.div_w[None]  # (S, F, B)
            self.k.diverted(self.div_orders, self.c_o, scale3, self.div_y, fd_m, *lost, *moved, out)
            into = self.div_share * (moved[0] + moved[1]).sum(axis=1)[None]
            return _Diverted(lost[0], lost[1], moved[0], moved[1], into, out)
        scale = (th[:, None] * self.div_w[None])[:, :, None]  # (S, F, 1, B)
        lost_z = self.div_orders * self.c_o.transpose(1, 0, 2)[:, None]  # (S, F, R_o, B)
        lost_z *= scale
        y = self.div_y[..., None] if self.fd_m is None else self.div_y[..., None] * self.fd_m[:, self.div_f, None]
        lost_y = y * scale
        moved_z, moved_y = lost_z.sum(axis=2), lost_y.sum(axis=2)
        into = self.div_share * (moved_z + moved_y).sum(axis=1)[None]
        out = (lost_z + lost_y).sum(axis=1).transpose(1, 0, 2)
        return _Diverted(lost_z, lost_y, moved_z, moved_y, into, out)

    def _div_fill(self, rat3: F64) -> F64:
        """Share of the diverted orders for each product that the targets fill, rho[k] (S, B)."""
        return (self.div_share * rat3[self.tgt_idx]).sum(axis=0)  # type: ignore[no-any-return]

    def _diverted_intermediate(self, div: _Diverted, rat3: F64, add: F64 | None = None) -> F64:
        """Net change of the friendly buyers' intermediate receipts, (S, F, S_b, B), counted on the buyers' side:
        theta v[k, f, s] (rho_k sum_o Z c_o - sum_o Z c_o r_o) over their other suppliers o. On the fused path,
        also added to their rows of ``add`` (S, n, B) when given (``_diverted_receipts``)."""
        s, r, b = self.s, self.r, self.b
        ck = self.c_o.transpose(1, 0, 2)[:, None]  # (S, 1, R, B)
        wc = np.matmul(self.div_z, ck)  # (S, F, S_b, B)
        wcr = np.matmul(self.div_z, ck * rat3.transpose(1, 0, 2)[:, None])
        if self.fused and add is not None:  # the lines below and the addition to ``add`` in one compiled pass
            self.k.diverted_receipts(wc, wcr, self._div_fill(rat3), self.div_theta, self.div_w, self.v, self.div_f, add)
            return wc  # type: ignore[no-any-return]
        wc *= self._div_fill(rat3)[:, None, None]
        wc -= wcr
        wc *= (self.div_theta[:, None] * self.div_w[None])[:, :, None]
        wc *= self.v.reshape(s, r, s, b)[:, self.div_f]
        return wc  # type: ignore[no-any-return]

    def _diverted_receipts(self, div: _Diverted, rat3: F64, add: F64) -> None:
        """Add the diverted goods to the friendly buyers' inventories, ``add`` (S, n, B), in place."""
        s, r, b = self.s, self.r, self.b
        div.inter = self._diverted_intermediate(div, rat3, add)
        if not self.fused:  # the fused path added them as it computed them
            add.reshape(s, r, s, b)[:, self.div_f] += div.inter

    def _diverted_final(self, div: _Diverted, rat3: F64) -> F64:
        """Net change of the friendly buyers' final receipts, (S, F, B): rho_k moved_y - sum_o r_o lost_y."""
        return self._div_fill(rat3)[:, None] * div.moved_y - np.einsum("kfob,okb->kfb", div.lost_y, rat3)  # type: ignore[no-any-return]

    def _settle_counter_trade(self, t: int, ct_exp: F64, ct_in: F64) -> None:
        """Book export proceeds (after the lag) and refund what the channel failed to deliver."""
        sh = self.sh
        earned = (1.0 - sh.counter_trade.discount) * ct_exp.sum(axis=0)
        slot = (t + sh.counter_trade.lag) % self.credit_ring.shape[0]
        np.add.at(self.credit_ring, (slot, np.arange(self.b)), earned)
        if self.fused:
            self.k.ct_refund(self.ct_q, ct_in, self.credit)
        else:
            self.credit += self.ct_q.sum(axis=(0, 1)) - ct_in.sum(axis=(0, 1))
