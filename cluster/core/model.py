"""The batched ARIO-family sanctions model: one daily step for B scenarios at once.

Arrays are batch-last (the scenario axis is the last one) so that every contraction against the shared
baseline flows is a batched matrix product with the scenarios as columns. Layout names:

* industry arrays ``(n, B)``, viewed as ``(R, S, B)`` (region-major);
* product x buyer arrays ``(S, n, B)``, viewed as ``(S, R, S, B)`` ``[k, rd, s, b]``;
* link arrays ``(S, R, R, B)`` ``[k, rd, ro, b]`` (product, destination region, origin region).

No state is ever an n x n array per scenario: orders are held as *order intensities* per (product,
buyer) and the baseline flows Z0 are applied on the fly (see ``docs/model.md``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from .baseline import Baseline
from .shocks import Extensions, ShockBatch

__all__ = ["Stepper"]

F64 = NDArray[np.float64]

#: ``numpy.allclose`` tolerances BoARIO uses to decide that inventories need no update / no rebuilding.
_RTOL, _ATOL = 1e-5, 1e-8


def _allclose_per_scenario(a: F64, b: F64) -> NDArray[np.bool_]:
    """``numpy.allclose(a[..., i], b[..., i])`` for every scenario i (last axis)."""
    lead = tuple(range(a.ndim - 1))
    return np.all(np.abs(a - b) <= _ATOL + _RTOL * np.abs(b), axis=lead)  # type: ignore[no-any-return]


def _safe_div(num: F64, den: F64) -> F64:
    """num / den where den != 0, else 0."""
    out = np.zeros(np.broadcast_shapes(num.shape, den.shape))
    np.divide(num, den, out=out, where=den != 0)
    return out


@dataclass
class StepRecord:
    """What one step produced, per scenario (batch-last), for the metrics."""

    production: F64  # (n, B)
    va: F64  # (R, B) value added net of premia and discounts
    final_delivered: F64  # (R, B) final demand delivered, by destination region
    exports: F64  # (R, B) deliveries to foreign regions, incl. counter-trade
    ct_exports: F64  # (R, B)
    ct_imports: F64  # (R, B)
    premium: F64  # (R, B) leakage premium paid, by buyer region
    balance_residual: F64  # (B,) max relative gap between what suppliers produced and what buyers got
    min_stock: F64  # (B,)


class Stepper:
    """Holds the state of a batch and advances it one day at a time (see ``simulate``)."""

    def __init__(self, baseline: Baseline, shocks: ShockBatch, ext: Extensions, diagnostics: bool = False):
        self.bl, self.sh, self.ext, self.diag = baseline, shocks, ext, diagnostics
        bl, sh = baseline, shocks
        r, s, b, n = bl.n_regions, bl.n_sectors, shocks.batch, bl.n
        self.r, self.s, self.b, self.n = r, s, b, n
        ar = sh.ario
        # --- constants of the run -------------------------------------------------------------------
        self.x0 = bl.x0[:, None]  # (n, 1)
        self.tech = bl.tech[:, :, None]  # (S, n, 1)
        self.needed = bl.needed[:, :, None]
        self.days = np.ascontiguousarray(ar.inventory_days.T)[:, None, :]  # (S, 1, B)
        self.psi = ar.psi
        self.amax = ar.alpha_max
        self.atau = 1 / ar.alpha_tau  # BoARIO stores the reciprocal and multiplies
        self.itau = 1 / ar.inventory_tau
        self.zk_t = np.ascontiguousarray(bl.z_by_product.transpose(0, 2, 1))  # (S, n, R)
        self.y_supplier = bl.y.sum(axis=2).reshape(n, 1)  # (n, 1) final demand per supplier
        self.y_by_dest = bl.y.reshape(n, r).T.copy()  # (R_dest, n)
        self.y_t = np.ascontiguousarray(bl.y.transpose(0, 2, 1))  # (R_o, R_d, S)
        self.va_coef = bl.va_coef.reshape(r, s, 1)
        self.va0 = (bl.va_coef * bl.x0).reshape(r, s).sum(axis=1)  # (R,)
        self.foreign = self._foreign_matrix(bl.domestic)  # (R_origin, R_dest) 1.0 where an export
        self.base_exports = self._baseline_exports()  # (R,)
        self.fd0 = bl.y.sum(axis=(0, 1))  # (R_dest,)
        self._init_capacity_events()
        self._init_projects()
        if ext.sanctions:
            self._init_links()
        # --- state ----------------------------------------------------------------------------------
        self.x = np.repeat(self.x0, b, axis=1)  # production of the last step
        self.alpha = np.ones((n, b))
        self.stock = self.tech * self.x0[None] * self.days  # (S, n, B)
        # Initial orders are Z0 itself: intensity 1 with capacity ratio 1 and every link open.
        self.v = np.ones((s, n, b))
        self.u_dom = np.zeros((s, n, b))
        self.u_for = np.zeros((s, n, b))
        self.c_o = np.ones((r, s, b))
        self.active_o = np.zeros(b, dtype=bool)
        self.ct_x = np.zeros((r, s, b))  # counter-trade export orders to target suppliers
        self.ct_q = np.zeros((s, n, b))  # channel import orders, by buyer
        self.ct_phi = np.zeros((r, s, b))  # split of channel imports over friendly suppliers
        self.credit = np.zeros(b)
        self.credit_ring = np.zeros((int(sh.ct_lag.max()) + 1, b))

    # ------------------------------------------------------------------------------------ set-up --
    @staticmethod
    def _foreign_matrix(domestic: NDArray[np.bool_]) -> F64:
        """1 where a delivery from origin to destination region crosses a border of the domestic bloc."""
        r = domestic.size
        f = 1.0 - np.eye(r)
        f[np.ix_(domestic, domestic)] = 0.0
        return f

    def _baseline_exports(self) -> F64:
        bl = self.bl
        r, s = self.r, self.s
        z_rr = bl.z_links.sum(axis=(0, 3)).T  # (R_o, R_d) daily intermediate flows by region pair
        y_rr = bl.y.sum(axis=1)  # (R_o, R_d)
        return ((z_rr + y_rr) * self.foreign).sum(axis=1)  # type: ignore[no-any-return]

    def _init_capacity_events(self) -> None:
        sh = self.sh
        self.ev_active = sh.cap_share > 0

    def capacity_loss(self, t: int) -> F64:
        """Delta(t), shape (n, B): BoARIO's timing for a capital-destruction event with linear recovery.

        The full loss applies on days onset .. onset + duration; on day t after that it is
        share * (1 - (t - 1 - onset - duration) / recovery) (recovery is applied at the end of a step and
        seen the next day), until it reaches 0.
        """
        sh = self.sh
        delta = np.zeros((self.b, self.n))
        if not self.ev_active.any():
            return delta.T
        end = sh.cap_onset + sh.cap_duration
        elapsed = t - 1 - end
        rec = np.maximum(sh.cap_recovery, 1)
        frac = np.where(t <= end, 1.0, 1.0 - elapsed / rec)
        frac = np.where((t >= sh.cap_onset) & (frac > 0), frac, 0.0)
        share = sh.cap_share * frac
        rows = np.broadcast_to(np.arange(self.b)[:, None], share.shape)
        np.add.at(delta, (rows, sh.cap_industry), share)
        np.minimum(delta, 1.0, out=delta)
        return delta.T

    def _init_projects(self) -> None:
        sh = self.sh
        self.proj_on = self.ext.projects and bool((sh.proj_success & (sh.proj_capacity > 0)).any())

    def new_capacity(self, t: int) -> F64 | None:
        """Daily capacity added by successful projects online at day t, shape (n, B), or None."""
        if not self.proj_on:
            return None
        sh = self.sh
        ramp = np.maximum(sh.proj_ramp, 1)
        frac = np.clip((t - sh.proj_online + 1) / ramp, 0.0, 1.0)
        frac = np.where(t >= sh.proj_online, frac, 0.0)
        add = sh.proj_capacity * frac * sh.proj_success
        out = np.zeros((self.b, self.n))
        rows = np.broadcast_to(np.arange(self.b)[:, None], add.shape)
        np.add.at(out, (rows, sh.proj_industry), add)
        return out.T

    def _init_links(self) -> None:
        bl, sh, ext = self.bl, self.sh, self.ext
        r = self.r
        # (B, R_o, S, R_d) -> (S, R_d, R_o, B)
        emb = np.ascontiguousarray(sh.embargo.transpose(2, 3, 1, 0))
        lam = sh.leakage.T[:, None, None, :] if ext.leakage else 0.0  # (S, 1, 1, B)
        self.closed = emb * (1.0 - lam)  # share of a link closed while sanctions are active
        self.leak = emb * lam if ext.leakage else None  # share of a link open only through third countries
        self.premium_k = sh.leakage_premium.T  # (S, B)
        self.y_links = np.ascontiguousarray(bl.y.transpose(1, 2, 0))[..., None]  # (S, R_d, R_o, 1)
        dom = bl.domestic
        self.dom_idx, self.for_idx = np.flatnonzero(dom), np.flatnonzero(~dom)
        self.split = ext.cooperation and self.dom_idx.size > 0 and self.for_idx.size > 0
        self.zl_t = np.ascontiguousarray(bl.z_links.transpose(0, 1, 3, 2))  # (S, R_d, S_b, R_o)
        if self.split:
            self.zl_dom = np.ascontiguousarray(bl.z_links[:, :, self.dom_idx, :])
            self.zl_for = np.ascontiguousarray(bl.z_links[:, :, self.for_idx, :])
            self.zl_t_dom = np.ascontiguousarray(self.zl_t[..., self.dom_idx])
            self.zl_t_for = np.ascontiguousarray(self.zl_t[..., self.for_idx])
        # Cooperation weight per destination region: gamma for domestic buyers, 1 otherwise.
        self.gamma_rd = np.where(dom[:, None], sh.coop_weight[None, :], 1.0)  # (R_d, B)
        self.speed_rd = np.where(dom[:, None], sh.coop_speedup[None, :], 1.0) if ext.cooperation else None
        if ext.counter_trade:
            self._init_counter_trade()

    def _init_counter_trade(self) -> None:
        bl, sh = self.bl, self.sh
        tgt = sh.target
        self.tgt_idx = np.flatnonzero(tgt)
        fr = sh.friendly & ~tgt[None, :]  # (B, R)
        z_rr = bl.z_links.sum(axis=(0, 3)).T + bl.y.sum(axis=1)  # (R_o, R_d) daily trade
        t2f = np.einsum("od,bd->b", z_rr[tgt], fr.astype(float))
        f2t = np.einsum("bo,od->b", fr.astype(float), z_rr[:, tgt])
        self.ct_cap = sh.ct_capacity * (t2f + f2t)  # daily value each way
        x0 = bl.x0.reshape(self.r, self.s)
        w = x0[:, :, None] * fr.T[:, None, :]  # (R, S, B)
        self.ct_phi = _safe_div(w, w.sum(axis=0, keepdims=True))
        self.ct_has_supply = self.ct_phi.sum(axis=0) > 0  # (S, B)
        self.tgt_buyer = np.repeat(tgt, self.s)  # (n,) buyers in target regions
        self.zl_tgt = np.ascontiguousarray(bl.z_links[:, :, self.tgt_idx, :])  # (S, R_d, R_t, S_b)

    # ---------------------------------------------------------------------------------- the step --
    def sanction_active(self, t: int) -> NDArray[np.bool_]:
        """Whether sanctions are in force on day t, shape (B,)."""
        sh = self.sh
        return (sh.sanction_onset <= t) & (t < sh.sanction_end)  # type: ignore[no-any-return]

    def ramp(self, t: int, tau: F64, speed: F64 | float = 1.0) -> F64:
        """1 - exp(-(days since onset) * speed / tau), 0 before onset (broadcasts over the last axis B)."""
        since = np.maximum(t - self.sh.sanction_onset, 0).astype(float)
        return 1.0 - np.exp(-since * speed / tau)  # type: ignore[no-any-return]

    def step(self, t: int) -> StepRecord:
        """Advance the batch by day t and return what happened."""
        bl, sh, ext = self.bl, self.sh, self.ext
        r, s, b, n = self.r, self.s, self.b, self.n
        active = self.sanction_active(t) if ext.sanctions else np.zeros(b, dtype=bool)

        # 1. Final demand of the day, cut on closed links and partly redirected.
        if ext.sanctions:
            m_t = 1.0 - self.closed * active  # (S, R_d, R_o, B)
            y_eff = self.y_links * m_t
            if ext.substitution:
                y_eff = y_eff + self._redirect_final(t, active, m_t)
            y_sup = y_eff.sum(axis=1).transpose(1, 0, 2).reshape(n, b)  # (n, B)
        else:
            m_t = None
            y_eff = None
            y_sup = self.y_supplier

        # 2. Demand addressed to each supplier: yesterday's orders + final demand + counter-trade.
        if ext.substitution:
            t_dom, t_for = self.v + self.u_dom, self.v + self.u_for
        else:
            t_dom = t_for = self.v
        if ext.sanctions:
            m_o = 1.0 - self.closed * self.active_o
            p = self._contract_orders(t_dom, t_for)  # (S, R_d, R_o, B)
            pm = p * m_o
            d_int = (pm.sum(axis=1).transpose(1, 0, 2) * self.c_o).reshape(n, b)
        else:
            m_o, pm = None, None
            d_int = (np.matmul(self.bl.z_by_product, t_dom).transpose(1, 0, 2) * self.c_o).reshape(n, b)
        ct_x = self.ct_x.reshape(n, b)
        ct_m = (self.ct_phi * self.ct_q.reshape(s, r, s, b).sum(axis=(1, 2))[None]).reshape(n, b)
        demand = d_int + y_sup + ct_x + ct_m

        # 3. Overproduction (BoARIO updates it from the third step on, from signed scarcity).
        if t > 1:
            scarcity = _safe_div(demand - self.x, demand)
            change = (self.amax - self.alpha) * scarcity * self.atau + (1.0 - self.alpha) * (
                scarcity == 0
            ) * self.atau
            self.alpha += change
            self.alpha[self.alpha < 1.0] = 1.0

        # 4. Capacity, wanted production, inventory constraint.
        delta = self.capacity_loss(t)
        cap = self.x0 * (1.0 - delta) * self.alpha
        extra = self.new_capacity(t)
        if extra is not None:
            cap = cap + extra
        x_opt = np.fmin(demand, cap)
        need = self.tech * x_opt[None] * self.psi * self.days  # (S, n, B)
        ratio = np.ones_like(need)
        np.divide(self.stock, need, out=ratio, where=self.needed & (need != 0))
        np.minimum(ratio, 1.0, out=ratio)
        x = x_opt * ratio.min(axis=0)

        # 5. Proportional rationing and deliveries.
        rat = _safe_div(x, demand)  # (n, B) share of every order filled
        rc = rat.reshape(r, s, b) * self.c_o
        if ext.sanctions:
            assert m_o is not None and pm is not None
            rc_l = rc.transpose(1, 0, 2)[:, None]  # (S, 1, R_o, B)
            h = rc_l * m_o
            leak_h = rc_l * (self.leak * self.active_o) if self.leak is not None else None
            add, leaked = self._contract_deliveries(h, leak_h, t_dom, t_for)
            flows_rr = (pm * rc_l).sum(axis=0).transpose(1, 0, 2)  # (R_o, R_d, B)
        else:
            add = t_dom * np.matmul(self.zk_t, rc.transpose(1, 0, 2))
            leaked = None
            flows_rr = None
        ct_rho = (self.ct_phi * rat.reshape(r, s, b)).sum(axis=0)  # (S, B) share of channel imports filled
        ct_in = self.ct_q * ct_rho[:, None, :]
        add = add + ct_in
        use = self.tech * x[None]
        keep = _allclose_per_scenario(add, use)
        new_stock = self.stock - use + add
        self.stock = np.where(keep, self.stock, new_stock)

        # 6. Accounts of the day.
        rec = self._accounts(t, x, rat, d_int, y_eff, flows_rr, leaked, ct_in, add)

        # 7. Orders for tomorrow.
        self._order(t, x_opt, x, cap, active, m_t)
        self.x = x
        return rec

    # --------------------------------------------------------------------------- contractions --
    def _contract_orders(self, t_dom: F64, t_for: F64) -> F64:
        """P[k, rd, ro, b] = sum_s Z0[(ro, k), (rd, s)] T_class(ro)[k, (rd, s), b]."""
        s, r, b = self.s, self.r, self.b
        if not self.split:
            return np.matmul(self.bl.z_links, t_dom.reshape(s, r, s, b))
        p = np.empty((s, r, r, b))
        p[:, :, self.dom_idx] = np.matmul(self.zl_dom, t_dom.reshape(s, r, s, b))
        p[:, :, self.for_idx] = np.matmul(self.zl_for, t_for.reshape(s, r, s, b))
        return p

    def _contract_deliveries(
        self, h: F64, leak_h: F64 | None, t_dom: F64, t_for: F64
    ) -> tuple[F64, F64 | None]:
        """Deliveries (and leaked deliveries) per (product, buyer): sum_ro Z0 * H[ro] * T_class(ro)."""
        s, r, b, n = self.s, self.r, self.b, self.n
        hh = h if leak_h is None else np.concatenate([h, leak_h], axis=3)
        w = hh.shape[3] // b

        def one(z_t: F64, hs: F64, tt: F64) -> tuple[F64, F64 | None]:
            g = np.matmul(z_t, hs)  # (S, R_d, S_b, w*B)
            tt4 = tt.reshape(s, r, s, b)
            main = (g[..., :b] * tt4).reshape(s, n, b)
            lk = (g[..., b:] * tt4).reshape(s, n, b) if w == 2 else None
            return main, lk

        if not self.split:
            return one(self.zl_t, hh, t_dom)
        a1, l1 = one(self.zl_t_dom, hh[:, :, self.dom_idx], t_dom)
        a2, l2 = one(self.zl_t_for, hh[:, :, self.for_idx], t_for)
        return a1 + a2, (None if l1 is None or l2 is None else l1 + l2)

    def _redirect_final(self, t: int, active: NDArray[np.bool_], m_t: F64) -> F64:
        """Final demand redirected from closed to open origins, shape (S, R_d, R_o, B)."""
        sh = self.sh
        blocked = (self.y_links * (1.0 - m_t)).sum(axis=2)  # (S, R_d, B)
        sig = sh.substitutability.T * self.ramp(t, sh.substitution_tau.T) * active  # (S, B)
        open_w = self.y_links * m_t  # (S, R_d, R_o, B)
        if self.speed_rd is not None and self.bl.domestic.any():
            dom = self.bl.domestic[None, None, :, None]
            g = np.where(dom, self.gamma_rd[None, :, None, :], 1.0)
            sig_d = sh.substitutability.T[:, None] * self.ramp(t, sh.substitution_tau.T[:, None], self.speed_rd[None]) * active
            sig_l = np.where(dom, sig_d[:, :, None], sig[:, None, None])  # (S, R_d, R_o, B)
            wg = open_w * g
            tot = wg.sum(axis=2, keepdims=True)
            return _safe_div(blocked[:, :, None] * sig_l * wg, tot)
        tot = open_w.sum(axis=2, keepdims=True)
        return _safe_div(blocked[:, :, None] * sig[:, None, None] * open_w, tot)

    # ------------------------------------------------------------------------------- accounts --
    def _accounts(self, t: int, x: F64, rat: F64, d_int: F64, y_eff: F64 | None, flows_rr: F64 | None,
                  leaked: F64 | None, ct_in: F64, add: F64) -> StepRecord:  # fmt: skip
        r, s, b, n = self.r, self.s, self.b, self.n
        sh, ext = self.sh, self.ext
        va = (self.va_coef * x.reshape(r, s, b)).sum(axis=1)  # (R, B)
        rat3 = rat.reshape(r, s, b)
        # Final demand delivered, by destination region.
        if y_eff is None:
            fd = self.y_by_dest @ rat  # (R_d, B)
            fd_flows = None
        else:
            fd_flows = (y_eff * rat3.transpose(1, 0, 2)[:, None]).sum(axis=0)  # (R_d, R_o, B)
            fd = fd_flows.sum(axis=1)
        # Exports: deliveries across the border of each origin's bloc.
        if flows_rr is None:
            int_exp = self._intermediate_exports(rat3, d_int)
        else:
            int_exp = (flows_rr * self.foreign[..., None]).sum(axis=1)
        if fd_flows is None:
            fd_rr = np.matmul(self.y_t, rat3)  # (R_o, R_d, B)
        else:
            fd_rr = fd_flows.transpose(1, 0, 2)
        exports = int_exp + (fd_rr * self.foreign[..., None]).sum(axis=1)
        ct_exp = (self.ct_x * rat3).sum(axis=1)  # (R, B)
        exports = exports + ct_exp
        ct_imp = ct_in.reshape(s, r, s, b).sum(axis=(0, 2))
        premium = np.zeros((r, b))
        if leaked is not None:
            premium += (leaked.reshape(s, r, s, b) * self.premium_k[:, None, None, :]).sum(axis=(0, 2))
        if y_eff is not None and self.leak is not None:
            active = self.sanction_active(t)
            fd_leak = (self.y_links * self.leak * active * rat3.transpose(1, 0, 2)[:, None])  # (S, R_d, R_o, B)
            premium += (fd_leak.sum(axis=2) * self.premium_k[:, None, :]).sum(axis=0)
        va = va - premium - sh.ct_discount * ct_exp
        if ext.counter_trade:
            self._settle_counter_trade(t, ct_exp, ct_in)
        if self.diag:
            produced = x.reshape(r, s, b).sum(axis=0)  # (S, B) by product
            got = (add - ct_in).reshape(s, r, s, b).sum(axis=(1, 2))  # intermediate deliveries by product
            if y_eff is None:
                fin = (self.bl.y.sum(axis=2)[..., None] * rat3).sum(axis=0)
            else:
                fin = (y_eff * rat3.transpose(1, 0, 2)[:, None]).sum(axis=(1, 2))
            ctm = (self.ct_phi * self.ct_q.reshape(s, r, s, b).sum(axis=(1, 2))[None] * rat3).sum(axis=0)
            got = got + fin + ct_exp_by_product(self.ct_x, rat3) + ctm
            resid = np.abs(got - produced) / np.maximum(produced, 1e-300)
            balance = resid.max(axis=0)
            min_stock = self.stock.min(axis=(0, 1))
        else:
            balance = np.zeros(b)
            min_stock = np.zeros(b)
        return StepRecord(x, va, fd, exports, ct_exp, ct_imp, premium, balance, min_stock)

    def _intermediate_exports(self, rat3: F64, d_int: F64) -> F64:
        """Intermediate deliveries across bloc borders by origin region, shape (R, B), without sanctions.

        Exports are total deliveries less deliveries inside the origin's bloc: the own region for a
        partner, every domestic region for a domestic region; only that part needs per-destination detail.
        """
        s, r, b = self.s, self.r, self.b
        v4 = self.v.reshape(s, r, s, b)
        within = np.einsum("krrs,krsb->rkb", self.bl.z_links, v4)  # (R, S, B) own-region orders
        dom = self.bl.domestic
        if dom.any():
            cols = np.flatnonzero(np.repeat(dom, s))
            zd = self.bl.z_by_product[:, dom][:, :, cols]  # (S, R_dom, n_dom)
            within[dom] = np.matmul(zd, self.v[:, cols]).transpose(1, 0, 2)
        total = d_int.reshape(r, s, b)
        return (rat3 * (total - self.c_o * within)).sum(axis=1)  # type: ignore[no-any-return]

    # ---------------------------------------------------------------------------------- orders --
    def _order(self, t: int, x_opt: F64, x: F64, cap: F64, active: NDArray[np.bool_], m_t: F64 | None) -> None:
        s, r, b, n = self.s, self.r, self.b, self.n
        sh, ext = self.sh, self.ext
        goal = self.tech * x_opt[None] * self.days
        close = _allclose_per_scenario(self.stock, goal)
        gap = np.maximum(goal - self.stock, 0.0)
        gap = np.where(close, 0.0, gap) * self.itau
        need = gap + self.tech * x[None]  # (S, n, B)
        c = np.ones((n, b))
        np.divide(cap, self.x0, out=c, where=self.x0 != 0)
        c3 = c.reshape(r, s, b)
        w_all = np.matmul(self.zk_t, c3.transpose(1, 0, 2))  # (S, n, B)
        self.v = _safe_div(need, w_all)
        self.c_o = c3
        self.active_o = active.astype(float)
        if not (ext.sanctions and ext.substitution) and not ext.counter_trade:
            return
        assert m_t is not None
        cm = c3.transpose(1, 0, 2)[:, None] * m_t  # (S, R_d, R_o, B)
        if self.split:
            w_dom = np.matmul(self.zl_t_dom, cm[:, :, self.dom_idx]).reshape(s, n, b)
            w_for = np.matmul(self.zl_t_for, cm[:, :, self.for_idx]).reshape(s, n, b)
            w_open = w_dom + w_for
        else:
            w_open = np.matmul(self.zl_t, cm).reshape(s, n, b)
            w_dom = w_for = None
        beta = np.clip(1.0 - _safe_div(w_open, w_all), 0.0, 1.0)
        beta[w_all == 0] = 0.0
        blocked = beta * need  # (S, n, B) orders that cannot go to their usual suppliers
        if ext.substitution:
            sig = (sh.substitutability.T * self.ramp(t, sh.substitution_tau.T) * active)[:, None, :]  # (S, 1, B)
            if self.split:
                assert w_dom is not None and w_for is not None and self.speed_rd is not None
                speed = np.repeat(self.speed_rd, s, axis=0)[None]  # (1, n, B)
                gam = np.repeat(self.gamma_rd, s, axis=0)[None]
                sig_d = sh.substitutability.T[:, None, :] * self.ramp(t, sh.substitution_tau.T[:, None, :], speed)
                sig_d = sig_d * active
                wg = gam * w_dom + w_for
                self.u_dom = _safe_div(blocked * sig_d * gam, wg)
                self.u_for = _safe_div(blocked * sig, wg)
                moved = _safe_div(blocked * (sig_d * gam * w_dom + sig * w_for), wg)
            else:
                self.u_dom = _safe_div(blocked * sig, w_open)
                self.u_for = self.u_dom
                moved = np.where(w_open > 0, blocked * sig, 0.0)
            unfilled = blocked - moved
        else:
            unfilled = blocked
        if ext.counter_trade:
            self._order_counter_trade(t, active, m_t, unfilled)

    # ---------------------------------------------------------------------------- counter-trade --
    def _order_counter_trade(self, t: int, active: NDArray[np.bool_], m_t: F64, unfilled: F64) -> None:
        s, r, b, n = self.s, self.r, self.b, self.n
        sh = self.sh
        if self.tgt_idx.size == 0:
            return
        eps = sh.ct_efficiency * self.ramp(t, sh.ct_tau) * active  # (B,)
        # Exports the coalition no longer buys: orders blocked at target origins (intermediate + final).
        p_t = np.matmul(self.zl_tgt, self.v.reshape(s, r, s, b))  # (S, R_d, R_t, B)
        cl = 1.0 - m_t[:, :, self.tgt_idx]
        blk = (p_t * cl).sum(axis=1).transpose(1, 0, 2) * self.c_o[self.tgt_idx]  # (R_t, S, B)
        blk = blk + (self.y_links[:, :, self.tgt_idx] * cl).sum(axis=1).transpose(1, 0, 2)
        want = blk * eps
        tot = want.sum(axis=(0, 1))
        scale = np.minimum(1.0, _safe_div(self.ct_cap, tot))
        scale[tot == 0] = 0.0
        self.ct_x = np.zeros((r, s, b))
        self.ct_x[self.tgt_idx] = want * scale
        # Imports bought with the proceeds: unfilled needs of target buyers, from friendly suppliers.
        self.credit += self.credit_ring[t % self.credit_ring.shape[0]]
        self.credit_ring[t % self.credit_ring.shape[0]] = 0.0
        wish = unfilled * self.tgt_buyer[None, :, None] * self.ct_has_supply[:, None, :] * (eps > 0)
        tot_w = wish.sum(axis=(0, 1))
        budget = np.minimum(self.credit, self.ct_cap)
        frac = np.minimum(1.0, _safe_div(budget, tot_w))
        self.ct_q = wish * frac
        self.credit -= self.ct_q.sum(axis=(0, 1))

    def _settle_counter_trade(self, t: int, ct_exp: F64, ct_in: F64) -> None:
        """Book export proceeds (after the lag) and refund what the channel failed to deliver."""
        sh = self.sh
        earned = (1.0 - sh.ct_discount) * ct_exp.sum(axis=0)
        slot = (t + sh.ct_lag) % self.credit_ring.shape[0]
        np.add.at(self.credit_ring, (slot, np.arange(self.b)), earned)
        self.credit += self.ct_q.sum(axis=(0, 1)) - ct_in.sum(axis=(0, 1))


def ct_exp_by_product(ct_x: F64, rat3: F64) -> F64:
    """Counter-trade exports delivered, by product, shape (S, B)."""
    return (ct_x * rat3).sum(axis=0)  # type: ignore[no-any-return]
