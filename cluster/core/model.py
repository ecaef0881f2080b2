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
        self.never = np.zeros(b, dtype=bool)
        self.tgt_idx = np.flatnonzero(sh.target)
        self.inv_req = self._inverse_requirement()  # (S, n, B)
        self.td = self.tech * self.days  # (S, n, B) days of inventory wanted, per unit of output
        self.wfix = (bl.z_by_product.sum(axis=1) == 0).astype(float)[:, :, None]  # (S, n, 1)
        self.buf1, self.buf2, self.buf3, self.buf4 = (np.empty((s, n, b)) for _ in range(4))
        self.m_o: F64 | None = None
        self.leak_o: F64 | None = None
        self.leak_on: F64 | None = None
        self.leak_share_on: F64 | None = None
        self.speed_rd: F64 | None = None
        self.split = False
        self._m_cache: dict[bytes, F64] = {}
        self._fd_key = b""
        self._fd: tuple[F64, F64, F64, F64 | None, F64 | None] | None = None
        self._ct_key = b""
        self.u_on = False
        self._init_capacity_events()
        self._init_projects()
        self.ct_phi = np.zeros((r, s, b))  # split of channel imports over friendly suppliers
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
        self.ct_x = np.zeros((r, s, b))  # counter-trade export orders to target suppliers
        self.ct_q = np.zeros((s, self.tgt_idx.size * s, b))  # channel import orders, by target buyer
        self.credit = np.zeros(b)
        self.credit_ring = np.zeros((int(sh.ct_lag.max()) + 1, b))

    # ------------------------------------------------------------------------------------ set-up --
    def _inverse_requirement(self) -> F64:
        """1 / (psi * s_k * A[k, j]) for needed inputs, inf otherwise: output that one unit of stock allows."""
        req = self.tech * self.psi * self.days  # (S, n, B)
        out = np.full(req.shape, np.inf)
        np.divide(1.0, req, out=out, where=np.broadcast_to(self.needed, req.shape) & (req > 0))
        return out

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
        s = self.s
        # (B, R_o, S, R_d) -> (S, R_d, R_o, B)
        emb = np.ascontiguousarray(sh.embargo.transpose(2, 3, 1, 0))
        lam = sh.leakage.T[:, None, None, :] if ext.leakage else 0.0  # (S, 1, 1, B)
        self.m_on = 1.0 - emb * (1.0 - lam)  # link availability while sanctions are in force
        if ext.leakage:
            self.leak_on = emb * lam  # the part of a link open only through third countries
            self.leak_share_on = _safe_div(self.leak_on, self.m_on)
        self.premium_k = sh.leakage_premium.T  # (S, B)
        self.y_links = np.ascontiguousarray(bl.y.transpose(1, 2, 0))[..., None]  # (S, R_d, R_o, 1)
        self.y_dest = self.y_links.sum(axis=2)  # (S, R_d, 1)
        dom = bl.domestic
        self.dom_idx, self.for_idx = np.flatnonzero(dom), np.flatnonzero(~dom)
        self.split = ext.cooperation and self.dom_idx.size > 0 and self.for_idx.size > 0
        self.zl_t = np.ascontiguousarray(bl.z_links.transpose(0, 1, 3, 2))  # (S, R_d, S_b, R_o)
        if self.split:
            self.zl_dom = np.ascontiguousarray(bl.z_links[:, :, self.dom_idx, :])
            self.zl_for = np.ascontiguousarray(bl.z_links[:, :, self.for_idx, :])
            self.zl_t_dom = np.ascontiguousarray(self.zl_t[..., self.dom_idx])
            self.zl_t_for = np.ascontiguousarray(self.zl_t[..., self.for_idx])
        if ext.cooperation:
            # Domestic buyers weight domestic suppliers by gamma and ramp faster; others are unchanged.
            gamma_rd = np.where(dom[:, None], sh.coop_weight[None, :], 1.0)  # (R_d, B)
            self.speed_rd = np.where(dom[:, None], sh.coop_speedup[None, :], 1.0)
            self.gamma_rd = gamma_rd
            self.gamma_n = np.repeat(gamma_rd, s, axis=0)[None]  # (1, n, B)
            self.dom_origin = dom[None, None, :, None]
            self.g_links = np.where(self.dom_origin, gamma_rd[None, :, None, :], 1.0)  # (1, R_d, R_o, B)
        if ext.counter_trade:
            self._init_counter_trade()

    def _init_counter_trade(self) -> None:
        bl, sh = self.bl, self.sh
        tgt = sh.target
        fr = sh.friendly & ~tgt[None, :]  # (B, R)
        z_rr = bl.z_links.sum(axis=(0, 3)).T + bl.y.sum(axis=1)  # (R_o, R_d) daily trade
        t2f = np.einsum("od,bd->b", z_rr[tgt], fr.astype(float))
        f2t = np.einsum("bo,od->b", fr.astype(float), z_rr[:, tgt])
        self.ct_cap = sh.ct_capacity * (t2f + f2t)  # daily value each way
        x0 = bl.x0.reshape(self.r, self.s)
        w = x0[:, :, None] * fr.T[:, None, :]  # (R, S, B)
        self.ct_phi = _safe_div(w, w.sum(axis=0, keepdims=True))
        self.ct_has_supply = self.ct_phi.sum(axis=0) > 0  # (S, B)
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

    def _links(self, active: NDArray[np.bool_]) -> F64 | None:
        """Link availability m for an activity pattern, (S, R_d, R_o, B); None when every link is open."""
        if not active.any():
            return None
        if active.all():
            return self.m_on
        key = active.tobytes()
        if key not in self._m_cache:
            self._m_cache = {key: np.where(active, self.m_on, 1.0)}
        return self._m_cache[key]

    def step(self, t: int) -> StepRecord:
        """Advance the batch by day t and return what happened."""
        ext = self.ext
        r, s, b, n = self.r, self.s, self.b, self.n
        active = self.sanction_active(t) if ext.sanctions else self.never
        m_t = self._links(active) if ext.sanctions else None
        m_o = self.m_o

        # 1. Final demand of the day, cut on closed links and partly redirected.
        y_eff = None if m_t is None else self._final_demand(t, active, m_t)
        if y_eff is None:
            y_sup = self.y_supplier
        else:
            y_sup = y_eff.sum(axis=1).transpose(1, 0, 2).reshape(n, b)

        # 2. Demand addressed to each supplier: yesterday's orders + final demand + counter-trade.
        if ext.substitution:
            t_dom = self.v + self.u_dom
            t_for = self.v + self.u_for if self.split else t_dom
        else:
            t_dom = t_for = self.v
        if ext.sanctions:
            pm = self._contract_orders(t_dom, t_for)  # (S, R_d, R_o, B) orders as if every link were open
            if m_o is None:
                summed = pm.sum(axis=1).transpose(1, 0, 2)
            else:
                summed = np.einsum("kdob,kdob->okb", pm, m_o)
            d_int = (summed * self.c_o).reshape(n, b)
        else:
            pm = None
            d_int = (np.matmul(self.bl.z_by_product, t_dom).transpose(1, 0, 2) * self.c_o).reshape(n, b)
        demand = d_int + y_sup
        if ext.counter_trade:
            ct_m = self.ct_phi * self.ct_q.sum(axis=1)[None]
            demand += (self.ct_x + ct_m).reshape(n, b)

        # 3. Overproduction (BoARIO updates it from the third step on, from signed scarcity).
        if t > 1:
            scarcity = _safe_div(demand - self.x, demand)
            change = (self.amax - self.alpha) * scarcity * self.atau + (1.0 - self.alpha) * (
                scarcity == 0
            ) * self.atau
            self.alpha += change
            self.alpha[self.alpha < 1.0] = 1.0

        # 4. Capacity, wanted production, inventory constraint: x = min(x_opt, min_k S_k / (psi s A_k)).
        delta = self.capacity_loss(t)
        cap = self.x0 * (1.0 - delta) * self.alpha
        extra = self.new_capacity(t)
        if extra is not None:
            cap = cap + extra
        x_opt = np.fmin(demand, cap)
        buf = self.buf1
        np.multiply(self.stock, self.inv_req, out=buf)
        x = np.fmin(x_opt, np.fmin.reduce(buf, axis=0))

        # 5. Proportional rationing and deliveries.
        rat = _safe_div(x, demand)  # (n, B) share of every order filled
        rat3 = rat.reshape(r, s, b)
        rc = rat3 * self.c_o
        leaked = None
        if ext.sanctions:
            assert pm is not None
            rc_l = rc.transpose(1, 0, 2)[:, None]  # (S, 1, R_o, B)
            h = rc_l if m_o is None else rc_l * m_o
            add = self._contract_deliveries(h, t_dom, t_for)
            if self.leak_o is not None:  # value sent through third countries, by (k, rd)
                leaked = np.einsum("kdob,kdob,okb->kdb", pm, self.leak_o, rc)
        else:
            add = np.matmul(self.zk_t, rc.transpose(1, 0, 2), out=self.buf2)
            add *= t_dom
        ct_in = None
        if ext.counter_trade:
            ct_rho = (self.ct_phi * rat3).sum(axis=0)  # (S, B) share of channel imports filled
            ct_in = self.ct_q * ct_rho[:, None, :]  # (S, n_target, B)
            add4 = add.reshape(s, r, s, b)
            add4[:, self.tgt_idx] += ct_in.reshape(s, -1, s, b)
        use = np.multiply(self.tech, x[None], out=self.buf3)
        diag = self._diagnostics(x, rat3, y_eff, add, ct_in) if self.diag else None
        # BoARIO leaves inventories alone when numpy.allclose(deliveries, use): same here, per scenario.
        diff = np.subtract(add, use, out=add)
        chk = np.abs(diff, out=self.buf1)
        chk -= np.multiply(use, _RTOL, out=self.buf4)
        keep = chk.max(axis=(0, 1)) <= _ATOL
        if keep.any():
            diff *= ~keep
        self.stock += diff

        # 6. Accounts of the day.
        rec = self._accounts(t, active, x, rat3, d_int, y_eff, pm, leaked, ct_in, diag)

        # 7. Orders for tomorrow.
        self._order(t, x_opt, use, cap, active, m_t)
        self.x = x
        self.m_o = m_t
        self.leak_o = self._leak(active, m_t)
        return rec

    def _leak(self, active: NDArray[np.bool_], m_t: F64 | None) -> F64 | None:
        """Share of each link open only through third countries, for an activity pattern."""
        if m_t is None or self.leak_on is None:
            return None
        if active.all():
            return self.leak_on
        return self.leak_on * active  # type: ignore[no-any-return]

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

    def _contract_deliveries(self, h: F64, t_dom: F64, t_for: F64) -> F64:
        """Deliveries per (product, buyer), (S, n, B): sum_ro Z0[(ro, k), j] H[k, rd(j), ro] T_class(ro)[k, j]."""
        s, r, b, n = self.s, self.r, self.b, self.n
        if h.shape[1] == 1:
            h = np.broadcast_to(h, (s, r, r, b))
        if not self.split:
            g = np.matmul(self.zl_t, h).reshape(s, n, b)
            g *= t_dom
            return g
        g = np.matmul(self.zl_t_dom, h[:, :, self.dom_idx]).reshape(s, n, b)
        g *= t_dom
        g2 = np.matmul(self.zl_t_for, h[:, :, self.for_idx]).reshape(s, n, b)
        g2 *= t_for
        g += g2
        return g

    def _final_demand(self, t: int, active: NDArray[np.bool_], m_t: F64) -> F64:
        """Final demand of the day per link, (S, R_d, R_o, B): cut on closed links, part redirected.

        Everything but the substitution ramp is fixed while the sanction pattern is: it is cached.
        """
        sh = self.sh
        key = active.tobytes()
        if self._fd_key != key:
            self._fd_key = key
            y_cut = self.y_links * m_t
            blocked = self.y_dest - y_cut.sum(axis=2)  # (S, R_d, B)
            if self.speed_rd is None:
                self._fd = (y_cut, blocked, self.y_dest - blocked, None, None)
            else:
                wg = y_cut * self.g_links  # (S, R_d, R_o, B) domestic buyers weight domestic origins
                wg_dom = wg * self.dom_origin
                wg -= wg_dom
                self._fd = (y_cut, blocked, (wg + wg_dom).sum(axis=2), wg_dom, wg)
        y_cut, blocked, tot, wg_dom, wg_for = self._fd
        if not self.ext.substitution:
            return y_cut
        sig = sh.substitutability.T * self.ramp(t, sh.substitution_tau.T) * active  # (S, B)
        if wg_dom is None or wg_for is None:
            f = _safe_div(blocked * sig[:, None], tot)  # (S, R_d, B)
            f += 1.0
            return y_cut * f[:, :, None]  # type: ignore[no-any-return]
        assert self.speed_rd is not None
        sig_d = sh.substitutability.T[:, None] * self.ramp(t, sh.substitution_tau.T[:, None], self.speed_rd) * active
        y = wg_dom * _safe_div(blocked * sig_d, tot)[:, :, None]
        y += wg_for * _safe_div(blocked * sig[:, None], tot)[:, :, None]
        y += y_cut
        return y

    # ------------------------------------------------------------------------------- accounts --
    def _diagnostics(self, x: F64, rat3: F64, y_eff: F64 | None, add: F64, ct_in: F64 | None) -> tuple[F64, F64]:
        """Largest relative gap between production and deliveries by product, and the lowest inventory."""
        r, s, b = self.r, self.s, self.b
        produced = x.reshape(r, s, b).sum(axis=0)  # (S, B)
        got = add.reshape(s, r, s, b).sum(axis=(1, 2))  # deliveries to buyers' inventories
        if y_eff is None:
            got = got + (self.bl.y.sum(axis=2)[..., None] * rat3).sum(axis=0)
        else:
            got = got + (y_eff * rat3.transpose(1, 0, 2)[:, None]).sum(axis=(1, 2))
        if ct_in is not None:  # counter-trade exports went to a partner, not to an inventory we hold
            got = got + (self.ct_x * rat3).sum(axis=0)
        resid = np.abs(got - produced) / np.maximum(produced, 1e-300)
        return resid.max(axis=0), self.stock.min(axis=(0, 1))

    def _accounts(self, t: int, active: NDArray[np.bool_], x: F64, rat3: F64, d_int: F64, y_eff: F64 | None,
                  pm: F64 | None, leaked: F64 | None, ct_in: F64 | None,
                  diag: tuple[F64, F64] | None) -> StepRecord:  # fmt: skip
        r, s, b = self.r, self.s, self.b
        sh = self.sh
        va = (self.va_coef * x.reshape(r, s, b)).sum(axis=1)  # (R, B)
        rat_l = rat3.transpose(1, 0, 2)[:, None]  # (S, 1, R_o, B)
        premium = np.zeros((r, b))
        # Final demand delivered, by (origin, destination) region.
        if y_eff is None:
            fd_rr = np.matmul(self.y_t, rat3)  # (R_o, R_d, B)
        else:
            fd_rr = np.einsum("kdob,okb->odb", y_eff, rat3)
            if self.leak_share_on is not None:
                share = self.leak_share_on if active.all() else self.leak_share_on * active
                fd_leak = np.einsum("kdob,kdob,okb->kdb", y_eff, share, rat3)
                premium += (fd_leak * self.premium_k[:, None, :]).sum(axis=0)
        fd = fd_rr.sum(axis=0)
        # Exports: deliveries across the border of each origin's bloc.
        if pm is None:
            int_exp = self._intermediate_exports(rat3, d_int)
        else:
            within = self._within_bloc(pm, self.m_o) * self.c_o
            int_exp = (rat3 * (d_int.reshape(r, s, b) - within)).sum(axis=1)
        exports = int_exp + (fd_rr * self.foreign[..., None]).sum(axis=1)
        ct_exp = np.zeros((r, b))
        ct_imp = np.zeros((r, b))
        if ct_in is not None:
            ct_exp = (self.ct_x * rat3).sum(axis=1)  # (R, B)
            exports += ct_exp
            ct_imp[self.tgt_idx] = ct_in.reshape(s, -1, s, b).sum(axis=(0, 2))
            self._settle_counter_trade(t, ct_exp, ct_in)
        if leaked is not None:  # (S, R_d, B) -> premium by buying region
            premium += (leaked * self.premium_k[:, None, :]).sum(axis=0)
        va = va - premium - sh.ct_discount * ct_exp
        zero = np.zeros(b)
        balance, min_stock = diag if diag is not None else (zero, zero)
        return StepRecord(x, va, fd, exports, ct_exp, ct_imp, premium, balance, min_stock)

    def _within_bloc(self, p: F64, m_o: F64 | None) -> F64:
        """Orders from inside each origin's bloc, (R_o, S, B), from per-link orders p (S, R_d, R_o, B)
        and the link availability m_o they were placed under."""
        r = self.r
        idx = np.arange(r)
        own = p[:, idx, idx] if m_o is None else p[:, idx, idx] * m_o[:, idx, idx]
        within = own.transpose(1, 0, 2).copy()
        dom = self.dom_idx
        if dom.size:
            block = p[:, dom][:, :, dom]
            if m_o is not None:
                block *= m_o[:, dom][:, :, dom]
            within[dom] = block.sum(axis=1).transpose(1, 0, 2)
        return within

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
    def _order(self, t: int, x_opt: F64, use: F64, cap: F64, active: NDArray[np.bool_], m_t: F64 | None) -> None:
        """Tomorrow's orders: use plus the inventory gap closed at 1/tau_inv, split over suppliers."""
        s, r, b, n = self.s, self.r, self.b, self.n
        sh, ext = self.sh, self.ext
        goal = np.multiply(self.td, x_opt[None], out=self.buf1)
        gap = np.subtract(goal, self.stock, out=self.buf2)
        chk = np.abs(gap, out=self.buf4)
        goal *= _RTOL
        chk -= goal
        close = chk.max(axis=(0, 1)) <= _ATOL  # BoARIO: numpy.allclose(stock, goal) -> no gap at all
        np.maximum(gap, 0.0, out=gap)
        gap *= np.where(close, 0.0, self.itau)
        need = np.add(gap, use, out=self.buf2)  # (S, n, B)
        c = np.ones((n, b))
        np.divide(cap, self.x0, out=c, where=self.x0 != 0)
        c3 = c.reshape(r, s, b)
        w_all = np.matmul(self.zk_t, c3.transpose(1, 0, 2), out=self.buf4)  # (S, n, B)
        w_all += self.wfix  # no supplier of k at all: need is 0 there, avoid 0 / 0
        if (c == 0).any():
            self.v = _safe_div(need, w_all)
        else:
            np.divide(need, w_all, out=self.v)
        self.c_o = c3
        if m_t is None or not (ext.substitution or ext.counter_trade):
            if ext.substitution and self.u_on:
                self.u_dom = np.zeros((s, n, b))
                self.u_for = self.u_dom
                self.u_on = False
            if ext.counter_trade:
                self._order_counter_trade(t, active, m_t, None)
            return
        cm = c3.transpose(1, 0, 2)[:, None] * m_t  # (S, R_d, R_o, B)
        if self.split:
            w_dom = np.matmul(self.zl_t_dom, cm[:, :, self.dom_idx]).reshape(s, n, b)
            w_for = np.matmul(self.zl_t_for, cm[:, :, self.for_idx]).reshape(s, n, b)
            w_open = w_dom + w_for
        else:
            w_open = np.matmul(self.zl_t, cm).reshape(s, n, b)
        # Share of the need that cannot go to usual suppliers; w_all > 0 everywhere (wfix).
        blocked = np.divide(w_open, w_all)
        np.subtract(1.0, blocked, out=blocked)
        np.maximum(blocked, 0.0, out=blocked)
        blocked *= need
        unfilled = blocked
        if ext.substitution:
            self.u_on = True
            sig = (sh.substitutability.T * self.ramp(t, sh.substitution_tau.T) * active)[:, None, :]  # (S, 1, B)
            if self.split:
                assert self.speed_rd is not None
                # Domestic buyers: redirected orders weight domestic suppliers by gamma, ramp faster.
                sig_d = sh.substitutability.T[:, None] * self.ramp(t, sh.substitution_tau.T[:, None], self.speed_rd)
                sig_d *= active
                sig_d *= self.gamma_rd  # (S, R_d, B)
                wg = self.gamma_n * w_dom
                wg += w_for
                q = _safe_div(blocked, wg)
                self.u_for = q * sig
                self.u_dom = (q.reshape(s, r, s, b) * sig_d[:, :, None]).reshape(s, n, b)
                moved = self.u_dom * w_dom
                moved += self.u_for * w_for
            else:
                self.u_dom = _safe_div(blocked * sig, w_open)
                self.u_for = self.u_dom
                moved = self.u_dom * w_open
            unfilled = blocked - moved
        if ext.counter_trade:
            self._order_counter_trade(t, active, m_t, unfilled)

    # ---------------------------------------------------------------------------- counter-trade --
    def _order_counter_trade(self, t: int, active: NDArray[np.bool_], m_t: F64 | None, unfilled: F64 | None) -> None:
        """Counter-trade orders for tomorrow: blocked exports offered to friendly partners, and imports
        bought with the proceeds, never beyond the credit earned (the channel balances in value)."""
        s, r, b = self.s, self.r, self.b
        sh = self.sh
        ring = self.credit_ring
        self.credit += ring[t % ring.shape[0]]
        ring[t % ring.shape[0]] = 0.0
        if m_t is None or unfilled is None or self.tgt_idx.size == 0:
            self.ct_x = np.zeros((r, s, b))
            self.ct_q = np.zeros((s, self.tgt_idx.size * s, b))
            return
        eps = sh.ct_efficiency * self.ramp(t, sh.ct_tau) * active  # (B,)
        # Exports the coalition no longer buys: orders blocked at target origins (intermediate + final).
        p_t = np.matmul(self.zl_tgt, self.v.reshape(s, r, s, b))  # (S, R_d, R_t, B)
        key = active.tobytes()
        if self._ct_key != key:
            self._ct_key, self._ct_closed = key, 1.0 - m_t[:, :, self.tgt_idx]
        closed = self._ct_closed
        blk = np.einsum("kdtb,kdtb->tkb", p_t, closed) * self.c_o[self.tgt_idx]  # (R_t, S, B)
        blk += np.einsum("kdt,kdtb->tkb", self.y_links[:, :, self.tgt_idx, 0], closed)
        want = blk * eps
        tot = want.sum(axis=(0, 1))
        scale = np.minimum(1.0, _safe_div(self.ct_cap, tot))
        self.ct_x = np.zeros((r, s, b))
        self.ct_x[self.tgt_idx] = want * scale
        # Imports bought with the proceeds: unfilled needs of target buyers, from friendly suppliers.
        wish = unfilled.reshape(s, r, s, b)[:, self.tgt_idx].reshape(s, -1, b)
        wish *= (self.ct_has_supply * (eps > 0))[:, None, :]
        tot_w = wish.sum(axis=(0, 1))
        budget = np.maximum(np.minimum(self.credit, self.ct_cap), 0.0)
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
