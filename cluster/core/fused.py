"""The step's state-sized elementwise passes, fused into compiled loops (numba, cached on disk).

The numpy path of ``Stepper`` (``kernel="numpy"``) is the reference: it reads and writes each (products x industries
x scenarios) array once per numpy call, some fifteen times a step. These kernels do the same arithmetic, operation
for operation (bit for bit, but for ``link_fd``, whose sum replaces BLAS's), in a few passes, each with the scenarios
as its innermost loop, which the compiler vectorises when it knows that axis is contiguous: the step passes them
C-ordered arrays (a strided one, typed "A" by numba, ran measured twice as slow). Every scenario's arithmetic is
independent of its companions and of the batch size. See ``docs/model.md``, "Performance and limits".

The first call in a fresh environment compiles the kernels (a few seconds) and writes them to numba's cache beside
this file (or to ``NUMBA_CACHE_DIR``); later processes load them from there.
"""

from __future__ import annotations

import numpy as np
from numba import njit
from numpy.typing import NDArray

__all__ = [
    "add_rows",
    "block_deliveries",
    "block_sum",
    "block_weights",
    "channel_exports",
    "cross_share",
    "ct_buy",
    "ct_demand",
    "ct_refund",
    "div_lost",
    "diverted",
    "diverted_receipts",
    "expand",
    "fd_block",
    "fd_factor",
    "inventory_cap",
    "leak_premium",
    "link_fd",
    "link_sum",
    "moved_pairs",
    "msum",
    "open_weights",
    "produce",
    "ratio",
    "recovery_step",
    "redirect",
    "settle_and_order",
    "sum02",
    "warm",
    "weigh_add",
    "within_bloc",
]

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]
B1 = NDArray[np.bool_]


@njit(cache=True, error_model="numpy", nogil=True, boundscheck=False)
def produce(
    demand: F64, alpha: F64, x_prev: F64, amax: F64, atau: F64, over: bool, x0: F64, loss: F64, extra: F64,
    k_new: F64, stock_cap: F64, c_floor: float, base_cap: F64, split_cap: F64, cap: F64, x_opt: F64, x: F64, rat: F64,
    c_next: F64,
) -> bool:  # pragma: no cover - compiled  # fmt: skip
    """The step's production of the day in one pass over (n, B), the numpy path's arithmetic in its order:

    * with ``over``, BoARIO's overproduction step, in place: scarcity = (demand - x_prev) / demand (0 where demand
      is 0), alpha += (amax - alpha) scarcity / tau + (1 - alpha) [scarcity = 0] / tau, then alpha >= 1 (``atau``
      is 1 / tau);
    * base_cap = x0 (1 - loss) (+ extra), split_cap = base_cap alpha (+ extra), cap = split_cap (+ k_new), where
      ``extra`` and ``k_new`` are skipped when empty (no projects, no expansion);
    * tomorrow's capacity ratio c_next = split_cap / x0 (1 where x0 is 0, 0 below ``c_floor``); returns whether
      any of it is 0;
    * x_opt = fmin(demand, cap); unless ``stock_cap`` is empty (the first day), x = fmin(x_opt, stock_cap) and
      rat = x / demand (0 where demand is 0).

    ``x0`` is (n, 1), ``amax`` and ``atau`` (B,), every other array (n, B)."""
    n, b_ = demand.shape
    has_extra = extra.shape[0] > 0
    has_new = k_new.shape[0] > 0
    has_stock = stock_cap.shape[0] > 0
    zeros = 0
    # Per industry, one branch-free loop over the scenarios per stage, so that each vectorises.
    for j in range(n):
        if over:
            for b in range(b_):
                d = demand[j, b]
                sc = (d - x_prev[j, b]) / d if d != 0.0 else 0.0
                a = alpha[j, b]
                a = a + ((amax[b] - a) * sc * atau[b] + (1.0 - a) * (1.0 if sc == 0.0 else 0.0) * atau[b])
                alpha[j, b] = 1.0 if a < 1.0 else a
        x0j = x0[j, 0]
        for b in range(b_):
            bc = x0j * (1.0 - loss[j, b])
            base_cap[j, b] = bc
            split_cap[j, b] = bc * alpha[j, b]
        if has_extra:
            for b in range(b_):
                e = extra[j, b]
                split_cap[j, b] = split_cap[j, b] + e
                base_cap[j, b] = base_cap[j, b] + e
        if x0j != 0.0:
            for b in range(b_):
                c = split_cap[j, b] / x0j
                c = 0.0 if c < c_floor else c
                c_next[j, b] = c
                zeros += 1 if c == 0.0 else 0
        else:
            for b in range(b_):
                c_next[j, b] = 1.0
        if has_new:
            for b in range(b_):
                cap[j, b] = split_cap[j, b] + k_new[j, b]
        else:
            for b in range(b_):
                cap[j, b] = split_cap[j, b]
        for b in range(b_):
            d, cp = demand[j, b], cap[j, b]
            x_opt[j, b] = d if (d <= cp or cp != cp) else cp  # numpy's fmin
        if has_stock:
            for b in range(b_):
                xo, sk, d = x_opt[j, b], stock_cap[j, b], demand[j, b]
                xx = xo if (xo <= sk or sk != sk) else sk
                x[j, b] = xx
                rat[j, b] = xx / d if d != 0.0 else 0.0
    return zeros > 0


@njit(cache=True, error_model="numpy", nogil=True, boundscheck=False)
def inventory_cap(stock: F64, inv_req: F64, x_opt: F64) -> F64:  # pragma: no cover - compiled
    """x = fmin(x_opt, fmin over k of stock[k] * inv_req[k]), shape (n, B): numpy's fmin semantics (a NaN,
    0 x inf for an input an industry does not need, is ignored), the reference's ``np.fmin.reduce``.

    ``inv_req`` is (S, n, B) or (S, n, 1) (the same for every scenario)."""
    s_, n, b_ = stock.shape
    wide = inv_req.shape[2] != 1
    m = np.empty((n, b_))
    for k in range(s_):
        for j in range(n):
            r0 = inv_req[k, j, 0]
            for b in range(b_):
                p = stock[k, j, b] * (inv_req[k, j, b] if wide else r0)
                if k == 0:
                    m[j, b] = p
                else:
                    acc = m[j, b]
                    if not (acc <= p or p != p):  # numpy's fmin: keep acc unless p is smaller or acc is NaN
                        m[j, b] = p
    out = np.empty((n, b_))
    for j in range(n):
        for b in range(b_):
            a, c = x_opt[j, b], m[j, b]
            out[j, b] = a if (a <= c or c != c) else c
    return out


@njit(cache=True, error_model="numpy", nogil=True, boundscheck=False)
def settle_and_order(
    add: F64,
    mult: F64,
    use_mult: bool,
    tech: F64,
    x: F64,
    stock: F64,
    stock_out: F64,
    td: F64,
    x_opt: F64,
    itau: F64,
    w: F64,
    wfix: F64,
    dead: bool,
    v: F64,
    keep_need: bool,
    inv_req: F64,
    stock_cap: F64,
    rtol: float,
    atol: float,
) -> None:  # pragma: no cover - compiled
    """Inventories settle (into ``stock_out``) and tomorrow's order intensities are set, in two passes:

    * a = add (times ``mult`` with ``use_mult``: the plain path's intensities, deferred), the day's deliveries
      (S, n, B); use = tech x; stock_out = stock + (a - use), unless numpy.allclose(a, use) for the scenario
      (BoARIO's test, done in full), when stock_out = stock;
    * goal = td x_opt, gap = goal - stock_out; unless numpy.allclose(stock_out, goal), gap = max(gap, 0) / tau_inv,
      else 0; need = gap + use; v = need / (w + wfix) (0 where that is 0 and ``dead``);
    * with ``keep_need``, ``add`` is overwritten with need and ``w`` with w + wfix (the sanctioned path uses both);
    * ``stock_cap`` (n, B) is set to tomorrow's inventory constraint, fmin over k of stock_out[k] * inv_req[k]
      (``inventory_cap`` without its last step), as the settled stock does not change before then.

    The first pass decides both allclose tests at once: against the settled stock and against the old one, which a
    scenario whose deliveries equal its use keeps (its column is copied back). ``tech``, ``wfix`` are (S, n, 1);
    ``td`` (S, n, B) or (S, n, 1); ``itau`` (B,). The inner loops run over the scenarios without branches (selects),
    so that they vectorise. A NaN anywhere makes a test false, as numpy's max propagates it.
    """
    s_, n, b_ = stock.shape
    wide = td.shape[2] != 1
    top_a = np.full(b_, -np.inf)
    top_new = np.full(b_, -np.inf)
    top_old = np.full(b_, -np.inf)
    for k in range(s_):
        for j in range(n):
            tk = tech[k, j, 0]
            t0 = td[k, j, 0]
            for b in range(b_):
                a = add[k, j, b] * mult[k, j, b] if use_mult else add[k, j, b]
                u = tk * x[j, b]
                d = a - u
                c = abs(d) - u * rtol
                top_a[b] = c if (c > top_a[b] or c != c) else top_a[b]  # NaN-propagating max
                s0 = stock[k, j, b]
                s1 = s0 + d
                stock_out[k, j, b] = s1
                goal = (td[k, j, b] if wide else t0) * x_opt[j, b]
                c = abs(goal - s1) - goal * rtol
                top_new[b] = c if (c > top_new[b] or c != c) else top_new[b]  # NaN-propagating max
                c = abs(goal - s0) - goal * rtol
                top_old[b] = c if (c > top_old[b] or c != c) else top_old[b]  # NaN-propagating max
    fac = np.empty(b_)
    for b in range(b_):
        keep = top_a[b] <= atol
        if keep:  # BoARIO leaves inventories alone when numpy.allclose(deliveries, use)
            for k in range(s_):
                for j in range(n):
                    stock_out[k, j, b] = stock[k, j, b]
            close = top_old[b] <= atol
        else:
            close = top_new[b] <= atol
        fac[b] = 0.0 if close else itau[b]
    # The inventory gap closed at 1 / tau, plus use, split over the suppliers' weights.
    wide_req = inv_req.shape[2] != 1
    for k in range(s_):
        for j in range(n):
            tk = tech[k, j, 0]
            t0 = td[k, j, 0]
            wf = wfix[k, j, 0]
            r0 = inv_req[k, j, 0]
            for b in range(b_):
                st = stock_out[k, j, b]
                p = st * (inv_req[k, j, b] if wide_req else r0)
                if k == 0:
                    stock_cap[j, b] = p
                else:
                    acc = stock_cap[j, b]
                    stock_cap[j, b] = acc if (acc <= p or p != p) else p  # numpy's fmin
                goal = (td[k, j, b] if wide else t0) * x_opt[j, b]
                gap = goal - st
                gap = 0.0 if gap < 0.0 else gap
                need = gap * fac[b] + tk * x[j, b]
                ww = w[k, j, b] + wf
                v[k, j, b] = 0.0 if (dead and ww == 0.0) else need / ww
                if keep_need:
                    add[k, j, b] = need
                    w[k, j, b] = ww


@njit(cache=True, error_model="numpy", nogil=True, boundscheck=False)
def within_bloc(
    z: F64, tt_a: F64, tt_b: F64, cls_of: NDArray[np.int64], member: NDArray[np.bool_]
) -> F64:  # pragma: no cover - compiled
    """Orders each origin region receives from destination regions ``member[r, d]``, (R, S, B), before the capacity
    ratio: within[r, k, b] = sum over those d and buyer sectors s of Z0[(r, k), (d, s)] tt[k, (d, s), b], with tt
    the intensity of r's origin class (``tt_a`` for class 0); 0 for an origin with no such d.

    ``z`` is Z0 by product, (S, R, n)."""
    s_, r_ = z.shape[0], z.shape[1]
    b_ = tt_a.shape[2]
    out = np.zeros((r_, s_, b_))
    for r in range(r_):
        tt = tt_a if cls_of[r] == 0 else tt_b
        for d in range(r_):
            if not member[r, d]:
                continue
            for k in range(s_):
                for s in range(s_):
                    j = d * s_ + s
                    zz = z[k, r, j]
                    for b in range(b_):
                        out[r, k, b] += zz * tt[k, j, b]
    return out


@njit(cache=True, error_model="numpy", nogil=True, boundscheck=False)
def ratio(num: F64, den: F64, default: float) -> F64:  # pragma: no cover - compiled
    """num / den elementwise, ``default`` where den is 0 (the numpy path's ``_safe_div`` for default 0), 2-D."""
    n, b_ = num.shape
    out = np.empty((n, b_))
    for j in range(n):
        for b in range(b_):
            d = den[j, b] if den.shape[1] != 1 else den[j, 0]
            out[j, b] = num[j, b] / d if d != 0.0 else default
    return out


@njit(cache=True, error_model="numpy", nogil=True, boundscheck=False)
def recovery_step(
    loss: F64, va0: F64, band: float, t: int, onset: NDArray[np.int64], streak: NDArray[np.int64],
    found: NDArray[np.int64], days: int,
) -> None:  # pragma: no cover - compiled  # fmt: skip
    """One day of the recovery clock, in place, per (region, scenario) (``simulate``'s numpy bookkeeping): a
    streak of days within ``band`` of the baseline starts, breaks, or after ``days`` days sets ``found``."""
    r_, b_ = loss.shape
    for r in range(r_):
        for b in range(b_):
            if found[r, b] >= 0 or t < onset[b]:
                continue
            if abs(loss[r, b]) <= band * va0[r, 0]:
                if streak[r, b] < 0:
                    streak[r, b] = t
                if t - streak[r, b] + 1 >= days:
                    found[r, b] = streak[r, b] - onset[b]
            else:
                streak[r, b] = -1


@njit(cache=True, error_model="numpy", nogil=True, boundscheck=False)
def msum(a: F64, w: F64) -> F64:  # pragma: no cover - compiled
    """(a w).sum(axis=1) for (R, S, B) arrays, ``w`` (R, S, B) or (R, S, 1): the products added over S in order,
    as numpy's reduction over a middle axis adds them."""
    r_, s_, b_ = a.shape
    wide = w.shape[2] != 1
    out = np.empty((r_, b_))
    for r in range(r_):
        w0 = w[r, 0, 0]
        for b in range(b_):
            out[r, b] = a[r, 0, b] * (w[r, 0, b] if wide else w0)
        for s in range(1, s_):
            ws = w[r, s, 0]
            for b in range(b_):
                out[r, b] += a[r, s, b] * (w[r, s, b] if wide else ws)
    return out


@njit(cache=True, error_model="numpy", nogil=True, boundscheck=False)
def redirect(
    w_open: F64, w_all: F64, need: F64, dead: bool, w_red: F64, w_dom: F64, gamma: F64, dom: NDArray[np.bool_],
    sig: F64, sig_d: F64, split: bool, min_share: float, keep: NDArray[np.bool_], tgt: NDArray[np.int64], u0: F64,
    u1: F64, v: F64, t0: F64, t1: F64, unfilled: F64,
) -> None:  # pragma: no cover - compiled  # fmt: skip
    """The order split under sanctions, in one pass (``Stepper._redirect``'s and ``Stepper._unfilled``'s numpy
    arithmetic, in their order), per buyer (k, j):

    * the blocked need, max(1 - w_open / w_all, 0) need (the ratio 0 where w_all is 0 and ``dead``);
    * when ``w_red`` is not empty (substitution): w_red + (gamma - 1) w_dom for domestic buyer regions when
      ``split``, then 0 below ``min_share`` w_all, and q = blocked / w_red (0 where that is 0);
    * tomorrow's order intensities per origin class, t0 = v + u0, t1 = v + u1 (``Stepper._intensities``), with the
      redirected intensities u0 = q sig_d, u1 = q sig (``split``; else t0 = v + u0, u0 = q sig), which are stored
      for the buyer regions ``keep`` (R,) names alone (those the blocks read them for);
    * when ``unfilled`` (S, R_t x S, B) is not empty (counter-trade), for buyer regions with ``tgt`` >= 0 (their
      place among the targets): the need no supplier takes, blocked - q (sig_d w_dom + sig (w_red - gamma w_dom))
      (``split``), blocked - u0 w_red (substitution alone), or the blocked need (no substitution).

    ``w_open``, ``w_red`` and ``w_dom`` are read only. Arrays are (S, n, B) with n = R x S buyers, region-major;
    ``sig``, ``sig_d`` are (S, R, B), ``gamma`` (R, B).
    """
    s_, n, b_ = w_all.shape
    sub = w_red.shape[0] > 0
    want = unfilled.shape[0] > 0
    bl = np.empty(b_)  # the row's blocked need, w_red and q: in the cache between the loops
    wr = np.empty(b_)
    q = np.empty(b_)
    # Per buyer, one branch-free loop over the scenarios per stage and case, so that each vectorises.
    for k in range(s_):
        for j in range(n):
            rd = j // s_
            home = split and dom[rd]
            for b in range(b_):
                wa = w_all[k, j, b]
                ratio = 0.0 if (dead and wa == 0.0) else w_open[k, j, b] / wa
                x = 1.0 - ratio
                x = x if (x >= 0.0 or x != x) else 0.0  # numpy's maximum: NaN stays
                bl[b] = x * need[k, j, b]
            ti = tgt[rd]
            if sub:
                if home:
                    for b in range(b_):
                        wr[b] = w_red[k, j, b] + (gamma[rd, b] - 1.0) * w_dom[k, j, b]
                else:
                    for b in range(b_):
                        wr[b] = w_red[k, j, b]
                for b in range(b_):
                    w = wr[b]
                    w = 0.0 if w < min_share * w_all[k, j, b] else w
                    wr[b] = w
                    q[b] = bl[b] / w if w != 0.0 else 0.0
                if split:
                    for b in range(b_):
                        vv = v[k, j, b]
                        t0[k, j, b] = vv + q[b] * sig_d[k, rd, b]
                        t1[k, j, b] = vv + q[b] * sig[k, rd, b]
                    if keep[rd]:
                        for b in range(b_):
                            u0[k, j, b] = q[b] * sig_d[k, rd, b]
                            u1[k, j, b] = q[b] * sig[k, rd, b]
                else:
                    for b in range(b_):
                        t0[k, j, b] = v[k, j, b] + q[b] * sig[k, rd, b]
                    if keep[rd]:
                        for b in range(b_):
                            u0[k, j, b] = q[b] * sig[k, rd, b]
            if not want or ti < 0:
                continue
            col = ti * s_ + j - rd * s_
            if not sub:
                for b in range(b_):
                    unfilled[k, col, b] = bl[b]
            elif split:
                for b in range(b_):
                    wd = w_dom[k, j, b]
                    moved = sig_d[k, rd, b] * wd
                    moved = moved + sig[k, rd, b] * (wr[b] - gamma[rd, b] * wd)
                    unfilled[k, col, b] = bl[b] - q[b] * moved
            else:
                for b in range(b_):
                    unfilled[k, col, b] = bl[b] - (q[b] * sig[k, rd, b]) * wr[b]


@njit(cache=True, error_model="numpy", nogil=True, boundscheck=False, inline="always")
def _block_terms(
    zt: F64, c3: F64, o: NDArray[np.int64], cl: F64, tc: F64, k: int, di: int, red: bool, y1: F64, y2: F64
) -> None:  # pragma: no cover - compiled  # fmt: skip
    """For product k and the block's destination di: y1[o] = c[o, k] closed[k, di, o], and y2 the same over
    ``touched`` when ``red``, (O, B) each (``block_weights`` and ``block_deliveries``)."""
    for oi in range(o.shape[0]):
        ro = o[oi]
        for b in range(y1.shape[1]):
            y1[oi, b] = c3[ro, k, b] * cl[k, di, oi, b]
        if red:
            for b in range(y1.shape[1]):
                y2[oi, b] = c3[ro, k, b] * tc[k, di, oi, b]


@njit(cache=True, error_model="numpy", nogil=True, boundscheck=False, inline="always")
def _block_sums(
    zt: F64, k: int, di: int, s: int, red: bool, y1: F64, y2: F64, a1: F64, a2: F64
) -> None:  # pragma: no cover - compiled  # fmt: skip
    """a1 = sum_o zt[k, di, s, o] y1[o], and a2 the same over y2 when ``red``, added over the origins in order."""
    for b in range(a1.shape[0]):
        a1[b] = 0.0
        a2[b] = 0.0
    for oi in range(zt.shape[3]):
        z = zt[k, di, s, oi]
        for b in range(a1.shape[0]):
            a1[b] += z * y1[oi, b]
        if red:
            for b in range(a1.shape[0]):
                a2[b] += z * y2[oi, b]


@njit(cache=True, error_model="numpy", nogil=True, boundscheck=False)
def block_weights(
    zt: F64, c3: F64, o: NDArray[np.int64], d: NDArray[np.int64], cl: F64, tc: F64, w_open: F64, w_red: F64, w_dom: F64
) -> None:  # pragma: no cover - compiled
    """One block's corrections of the split weights (``Stepper._order_split``), in place: for buyer j = (d, s),
    w_open[k, j] -= sum_o zt[k, d, s, o] c[o, k] closed[k, d, o], and w_red (and w_dom, each skipped when empty)
    -= the same sum over ``touched``, summed over the block's origins in their order. ``zt`` is (S, D, S_b, O),
    ``c3`` the capacity ratio (R, S, B), ``cl`` and ``tc`` (S, D, O, B), the weights (S, n, B)."""
    s_, nd, sb, no = zt.shape
    b_ = w_open.shape[2]
    red = w_red.shape[0] > 0
    dom = w_dom.shape[0] > 0
    y1 = np.empty((no, b_))  # c x closed and c x touched of the destination's origins
    y2 = np.empty((no, b_))
    a1 = np.empty(b_)
    a2 = np.empty(b_)
    for k in range(s_):
        for di in range(nd):
            _block_terms(zt, c3, o, cl, tc, k, di, red, y1, y2)
            for s in range(sb):
                j = d[di] * sb + s
                _block_sums(zt, k, di, s, red, y1, y2, a1, a2)
                for b in range(b_):
                    w_open[k, j, b] -= a1[b]
                if red:
                    for b in range(b_):
                        w_red[k, j, b] -= a2[b]
                if dom:
                    for b in range(b_):
                        w_dom[k, j, b] -= a2[b]


@njit(cache=True, error_model="numpy", nogil=True, boundscheck=False)
def block_deliveries(
    zt: F64, rc3: F64, o: NDArray[np.int64], d: NDArray[np.int64], cl: F64, tc: F64, v: F64, u: F64, add: F64
) -> None:  # pragma: no cover - compiled
    """One block's correction of the deliveries (``Stepper._deliveries``), in place: for buyer j = (d, s),
    add[k, j] -= v[k, j] sum_o zt[k, d, s, o] rc[o, k] closed[k, d, o] + u[k, j] sum_o zt[k, d, s, o] rc[o, k]
    touched[k, d, o] (the second term skipped when ``u`` is empty). Shapes as ``block_weights``; ``rc3`` is the
    rationing ratio times the capacity ratio (R, S, B)."""
    s_, nd, sb, no = zt.shape
    b_ = add.shape[2]
    red = u.shape[0] > 0
    y1 = np.empty((no, b_))
    y2 = np.empty((no, b_))
    a1 = np.empty(b_)
    a2 = np.empty(b_)
    for k in range(s_):
        for di in range(nd):
            _block_terms(zt, rc3, o, cl, tc, k, di, red, y1, y2)
            for s in range(sb):
                j = d[di] * sb + s
                _block_sums(zt, k, di, s, red, y1, y2, a1, a2)
                if red:
                    for b in range(b_):
                        add[k, j, b] -= a1[b] * v[k, j, b] + a2[b] * u[k, j, b]
                else:
                    for b in range(b_):
                        add[k, j, b] -= a1[b] * v[k, j, b]


@njit(cache=True, error_model="numpy", nogil=True, boundscheck=False)
def diverted(
    orders: F64,
    c_o: F64,
    scale: F64,
    div_y: F64,
    fd_m: F64,
    lost_z: F64,
    lost_y: F64,
    moved_z: F64,
    moved_y: F64,
    out: F64,
) -> None:  # pragma: no cover - compiled
    """The day's diverted orders (``Stepper._diverted``'s numpy arithmetic, in its order) in one pass: per product
    k, friendly buyer f, origin o, lost_z = orders c_o[o, k] x scale[k, f] and lost_y = y x scale[k, f], with
    y = div_y[k, f, o] (x fd_m[k, f], the day's demand multiplier, unless empty); their sums over the origins
    (moved_z, moved_y, (S, F, B)) and over the friendly buyers by origin (out, (R_o, S, B)), each added in the
    order numpy's reductions add them. ``orders``, ``lost_z``, ``lost_y`` are (S, F, R_o, B)."""
    s_, nf, no, b_ = orders.shape
    has_m = fd_m.shape[0] > 0
    for k in range(s_):
        for f in range(nf):
            for o in range(no):
                yo = div_y[k, f, o]
                for b in range(b_):
                    y = yo * fd_m[k, f, b] if has_m else yo
                    lz = orders[k, f, o, b] * c_o[o, k, b]
                    lz = lz * scale[k, f, b]
                    ly = y * scale[k, f, b]
                    lost_z[k, f, o, b] = lz
                    lost_y[k, f, o, b] = ly
                    if o == 0:
                        moved_z[k, f, b] = lz
                        moved_y[k, f, b] = ly
                    else:
                        moved_z[k, f, b] += lz
                        moved_y[k, f, b] += ly
                    if f == 0:
                        out[o, k, b] = lz + ly
                    else:
                        out[o, k, b] += lz + ly


@njit(cache=True, error_model="numpy", nogil=True, boundscheck=False)
def fd_block(
    rem: F64, rat3: F64, o_idx: I64, d_idx: I64, w: F64, to: F64, within: F64
) -> None:  # pragma: no cover - compiled
    """One block's correction of the final demand delivered (``Stepper._fd_flows``' numpy arithmetic, in its
    order): per product k, with rem (S, D, O, B) the final demand its links do not carry, to[k, d] -= sum_o
    rem[k, d, o] rat3[o, k] (to (S, R_d, B)) and, unless w is empty, within[o, k] -= sum_d rem[k, d, o] w[d, o]
    (within (R_o, S, B); w (D, O) the block's links inside a bloc). Each sum starts from 0 and adds in order."""
    s_, nd, no, b_ = rem.shape
    has_w = w.shape[0] > 0
    acc = np.empty(b_)
    for k in range(s_):
        for di in range(nd):
            acc[:] = 0.0
            for oi in range(no):
                ro = o_idx[oi]
                for b in range(b_):
                    acc[b] += rem[k, di, oi, b] * rat3[ro, k, b]
            dd = d_idx[di]
            for b in range(b_):
                to[k, dd, b] -= acc[b]
        if has_w:
            for oi in range(no):
                acc[:] = 0.0
                for di in range(nd):
                    wv = w[di, oi]
                    for b in range(b_):
                        acc[b] += rem[k, di, oi, b] * wv
                ro = o_idx[oi]
                for b in range(b_):
                    within[ro, k, b] -= acc[b]


@njit(cache=True, error_model="numpy", nogil=True, boundscheck=False)
def leak_premium(
    flows: F64, share: F64, fd_m: F64, rat3: F64, c_o: F64, o_idx: I64, d_idx: I64, prem: F64, premium: F64
) -> None:  # pragma: no cover - compiled
    """The leakage premium one block's buyers pay (``Stepper._fd_flows``' and ``_accounts``' numpy arithmetic, in
    its order): premium[d] += sum_k prem[k] sum_o L[k, d, o] with L = flows x share (intermediate goods: the
    leaked share of the orders) or flows x fd_m[k, d] (final demand at the day's multiplier), times what was
    delivered, rat3[o, k] (x c_o[o, k] unless c_o is empty). ``flows``, ``share`` (S, D, O, B); ``fd_m``
    (S, R_d, B) or empty; ``prem`` (S, B); ``premium`` (R_d, B). The sum over o starts from 0, that over k from
    its first term, as numpy's einsum and sum add them."""
    s_, nd, no, b_ = flows.shape
    has_share, has_m, has_c = share.shape[0] > 0, fd_m.shape[0] > 0, c_o.shape[0] > 0
    acc = np.empty(b_)
    tot = np.zeros((nd, b_))
    for k in range(s_):
        for di in range(nd):
            dd = d_idx[di]
            acc[:] = 0.0
            for oi in range(no):
                ro = o_idx[oi]
                for b in range(b_):
                    v = flows[k, di, oi, b]
                    if has_share:
                        v = v * share[k, di, oi, b]
                    if has_m:
                        v = v * fd_m[k, dd, b]
                    r = rat3[ro, k, b]
                    if has_c:
                        r = r * c_o[ro, k, b]
                    acc[b] += v * r
            for b in range(b_):
                if k == 0:
                    tot[di, b] = acc[b] * prem[k, b]
                else:
                    tot[di, b] += acc[b] * prem[k, b]
    for di in range(nd):
        dd = d_idx[di]
        for b in range(b_):
            premium[dd, b] += tot[di, b]


@njit(cache=True, error_model="numpy", nogil=True, boundscheck=False)
def expand(
    demand: F64, base_cap: F64, eta: F64, k_new: F64, x: F64, cap: F64, rate: F64
) -> None:  # pragma: no cover - compiled
    """Supplier expansion's capacity built today (``Stepper.step``'s numpy arithmetic), in place, (n, B) each:
    goal = max(max(demand - base_cap, 0) eta - k_new, 0), kept where capacity held production back (x >= cap),
    and k_new += goal rate. NaN passes through max as numpy.maximum passes it."""
    n_, b_ = demand.shape
    for i in range(n_):
        for b in range(b_):
            g = demand[i, b] - base_cap[i, b]
            if not (g >= 0.0 or g != g):  # numpy.maximum(g, 0.0)
                g = 0.0
            g = g * eta[i, b]
            g = g - k_new[i, b]
            if not (g >= 0.0 or g != g):
                g = 0.0
            g = g * (1.0 if x[i, b] >= cap[i, b] else 0.0)
            k_new[i, b] += g * rate[i, b]


@njit(cache=True, error_model="numpy", nogil=True, boundscheck=False)
def add_rows(a: F64, rows: I64, part: F64) -> None:  # pragma: no cover - compiled
    """a[:, rows] += part for a (S, n, B) and part (S, len(rows), B): what numpy's indexed addition does."""
    for k in range(a.shape[0]):
        for ri in range(rows.shape[0]):
            j = rows[ri]
            for b in range(a.shape[2]):
                a[k, j, b] += part[k, ri, b]


@njit(cache=True, error_model="numpy", nogil=True, boundscheck=False)
def cross_share(foreign: F64, moved: F64) -> F64:  # pragma: no cover - compiled
    """The share of the diverted orders for each product that crosses a border from each target region
    (``Stepper._accounts``' numpy arithmetic, in its order): (T, S, B), sum_f foreign[t, f] moved[k, f] (from 0,
    in order, as einsum adds) over sum_f moved[k, f] (from the first term, as numpy's sum adds), 0 where that is
    0. ``foreign`` (T, F), ``moved`` (S, F, B)."""
    nt, nf = foreign.shape
    s_, _, b_ = moved.shape
    out = np.empty((nt, s_, b_))
    den = np.zeros(b_)  # 0 with no friendly buyer, as numpy's sum gives
    num = np.empty(b_)
    for k in range(s_):
        if nf > 0:
            for b in range(b_):
                den[b] = moved[k, 0, b]
        for f in range(1, nf):
            for b in range(b_):
                den[b] += moved[k, f, b]
        for t in range(nt):
            num[:] = 0.0
            for f in range(nf):
                w = foreign[t, f]
                for b in range(b_):
                    num[b] += w * moved[k, f, b]
            for b in range(b_):
                out[t, k, b] = 0.0 if den[b] == 0.0 else num[b] / den[b]
    return out


@njit(cache=True, error_model="numpy", nogil=True, boundscheck=False)
def diverted_receipts(
    wc: F64, wcr: F64, fill: F64, theta: F64, w: F64, v: F64, f_idx: I64, add: F64
) -> None:  # pragma: no cover - compiled
    """The friendly buyers' net intermediate receipts of diverted goods (``Stepper._diverted_intermediate``'s
    numpy arithmetic after its two products, in its order), in place in ``wc`` (S, F, S_b, B): ((wc fill[k] -
    wcr) (theta[k] w[f])) v[k, (f, s)], then added to the buyers' rows of ``add`` (S, n, B), as
    ``_diverted_receipts`` adds them. ``fill``, ``theta`` (S, B); ``w`` (F, B); ``v`` (S, n, B)."""
    s_, nf, sb, b_ = wc.shape
    for k in range(s_):
        for fi in range(nf):
            for si in range(sb):
                j = f_idx[fi] * sb + si
                for b in range(b_):
                    x = wc[k, fi, si, b] * fill[k, b]
                    x = x - wcr[k, fi, si, b]
                    x = x * (theta[k, b] * w[fi, b])
                    x = x * v[k, j, b]
                    wc[k, fi, si, b] = x
                    add[k, j, b] += x


@njit(cache=True, error_model="numpy", nogil=True, boundscheck=False)
def channel_exports(
    ct_q: F64, foreign: F64, ct_phi: F64, rat3: F64, exports: F64
) -> None:  # pragma: no cover - compiled
    """The friendly suppliers' sales to the targets through the counter-trade channel, added to their exports
    (``Stepper._accounts``' numpy arithmetic, in its order): bought[k, t] = sum_s ct_q[k, (t, s)] (from the first
    term), crossing[o, k] = sum_t foreign[o, t] bought[k, t] (from 0, as einsum adds), exports[o] += sum_k
    (ct_phi[o, k] rat3[o, k]) crossing[o, k] (from the first term). ``ct_q`` (S, T S, B), ``foreign`` (R, T),
    ``ct_phi`` and ``rat3`` (R, S, B), ``exports`` (R, B)."""
    s_, _, b_ = ct_q.shape
    r_, nt = foreign.shape
    bought = np.zeros((s_, nt, b_))
    for k in range(s_):
        for t in range(nt):
            for b in range(b_):
                bought[k, t, b] = ct_q[k, t * s_, b]
            for si in range(1, s_):
                for b in range(b_):
                    bought[k, t, b] += ct_q[k, t * s_ + si, b]
    cross = np.empty(b_)
    tot = np.zeros(b_)
    for o in range(r_):
        for k in range(s_):
            cross[:] = 0.0
            for t in range(nt):
                w = foreign[o, t]
                for b in range(b_):
                    cross[b] += w * bought[k, t, b]
            for b in range(b_):
                term = (ct_phi[o, k, b] * rat3[o, k, b]) * cross[b]
                if k == 0:
                    tot[b] = term
                else:
                    tot[b] += term
        for b in range(b_):
            exports[o, b] += tot[b]


@njit(cache=True, error_model="numpy", nogil=True, boundscheck=False)
def fd_factor(blocked: F64, sig: F64, active: B1, fd_tot: F64) -> F64:  # pragma: no cover - compiled
    """The factor by which open final-demand flows grow (``Stepper._fd_redirect``' numpy arithmetic): (blocked
    sig) [active] / fd_tot, 0 where fd_tot is 0; (S, R_d, B) each, ``active`` (B,)."""
    s_, r_, b_ = blocked.shape
    out = np.empty((s_, r_, b_))
    for k in range(s_):
        for d in range(r_):
            for b in range(b_):
                x = blocked[k, d, b] * sig[k, d, b]
                x = x * (1.0 if active[b] else 0.0)
                den = fd_tot[k, d, b]
                out[k, d, b] = 0.0 if den == 0.0 else x / den
    return out


@njit(cache=True, error_model="numpy", nogil=True, boundscheck=False)
def open_weights(w_all: F64, wfix: F64, w_open: F64, w_red: F64) -> None:  # pragma: no cover - compiled
    """The split weights of the suppliers still reachable before the blocks' corrections (``Stepper._order_split``'s
    numpy lines): w_open = w_all - wfix, and w_red the same (skipped when empty), (S, n, B) each, ``wfix``
    (S, n, 1)."""
    s_, n_, b_ = w_all.shape
    red = w_red.shape[0] > 0
    for k in range(s_):
        for j in range(n_):
            f = wfix[k, j, 0]
            for b in range(b_):
                x = w_all[k, j, b] - f
                w_open[k, j, b] = x
                if red:
                    w_red[k, j, b] = x


@njit(cache=True, error_model="numpy", nogil=True, boundscheck=False)
def weigh_add(add: F64, tt: F64, part: F64, tt_part: F64) -> None:  # pragma: no cover - compiled
    """add = add tt + part tt_part (``Stepper._deliveries``' numpy lines for two origin classes, in place), or,
    with ``tt`` empty, add += part tt_part (a further class); (S, n, B) each."""
    s_, n_, b_ = add.shape
    first = tt.shape[0] > 0
    for k in range(s_):
        for j in range(n_):
            for b in range(b_):
                x = part[k, j, b] * tt_part[k, j, b]
                if first:
                    add[k, j, b] = add[k, j, b] * tt[k, j, b] + x
                else:
                    add[k, j, b] += x


@njit(cache=True, error_model="numpy", nogil=True, boundscheck=False)
def ct_buy(wish: F64, mask: B1, budget: F64, ct_q: F64, credit: F64) -> None:  # pragma: no cover - compiled
    """The imports bought through the counter-trade channel (``Stepper._order_counter_trade``'s numpy lines, in
    their order): wish (S, T S, B) *= mask[k, b], in place; tot[b] its sum over (k, j) in order (from the first
    term);
    ct_q = wish min(1, budget / tot) (0 where tot is 0; NaN passed through as numpy.minimum passes it); credit
    -= the sum of ct_q over (k, j) in order. ``mask`` (S, B), ``budget`` and ``credit`` (B,)."""
    s_, nj, b_ = wish.shape
    tot = np.zeros(b_)  # 0 where there is nothing to sum, as numpy's sum gives
    for k in range(s_):
        for j in range(nj):
            for b in range(b_):
                x = wish[k, j, b] * (1.0 if mask[k, b] else 0.0)
                wish[k, j, b] = x
                if k == 0 and j == 0:  # numpy's sums start from the first term
                    tot[b] = x
                else:
                    tot[b] += x
    ratio = np.empty(b_)
    for b in range(b_):
        r = 0.0 if tot[b] == 0.0 else budget[b] / tot[b]
        ratio[b] = r if (r < 1.0 or r != r) else 1.0  # numpy.minimum(1.0, r)
    spent = np.zeros(b_)
    for k in range(s_):
        for j in range(nj):
            for b in range(b_):
                q = wish[k, j, b] * ratio[b]
                ct_q[k, j, b] = q
                if k == 0 and j == 0:
                    spent[b] = q
                else:
                    spent[b] += q
    for b in range(b_):
        credit[b] -= spent[b]


@njit(cache=True, error_model="numpy", nogil=True, boundscheck=False)
def block_sum(
    dst: F64, o_idx: I64, a: F64, w: F64, c: F64, first: bool, sign: float
) -> None:  # pragma: no cover - compiled
    """One block's flows summed over its destinations into its origins' rows, in place (the numpy lines of
    ``Stepper._orders_received``, ``_blocked_exports`` and ``_fd_supply``, in their order): dst[o, k] +=
    sign x (sum_d a[k, d, o] (x w[k, d, o] unless w is empty)) (x c[o, k] unless c is empty), the sum starting
    from 0 as einsum's does, or from its first term as numpy's sum does (``first``). ``dst`` and ``c``
    (R, S, B); ``a``, ``w`` (S, D, O, B); sign 1 or -1 (an exact negation)."""
    s_, nd, no, b_ = a.shape
    has_w, has_c = w.shape[0] > 0, c.shape[0] > 0
    acc = np.empty(b_)
    for oi in range(no):
        ro = o_idx[oi]
        for k in range(s_):
            acc[:] = 0.0  # with no destination, 0, as numpy's sum and einsum give
            for di in range(nd):
                for b in range(b_):
                    x = a[k, di, oi, b] * w[k, di, oi, b] if has_w else a[k, di, oi, b]
                    if di == 0:
                        acc[b] = x if first else 0.0 + x
                    else:
                        acc[b] += x
            for b in range(b_):
                x = acc[b] * c[ro, k, b] if has_c else acc[b]
                dst[ro, k, b] += sign * x


@njit(cache=True, error_model="numpy", nogil=True, boundscheck=False)
def ct_demand(ct_q: F64, ct_phi: F64, demand: F64) -> None:  # pragma: no cover - compiled
    """The channel's orders added to the friendly suppliers' demand (``Stepper.step``'s numpy line, in its order):
    demand[(o, k)] += ct_phi[o, k] sum_j ct_q[k, j] (the sum from its first term). ``ct_q`` (S, J, B), ``ct_phi``
    (R, S, B), ``demand`` (R S, B)."""
    s_, nj, b_ = ct_q.shape
    r_ = ct_phi.shape[0]
    tot = np.zeros((s_, b_))  # 0 where there is nothing to sum (no target region), as numpy's sum gives
    for k in range(s_):
        if nj > 0:
            for b in range(b_):
                tot[k, b] = ct_q[k, 0, b]
        for j in range(1, nj):
            for b in range(b_):
                tot[k, b] += ct_q[k, j, b]
    for o in range(r_):
        for k in range(s_):
            for b in range(b_):
                demand[o * s_ + k, b] += ct_phi[o, k, b] * tot[k, b]


@njit(cache=True, error_model="numpy", nogil=True, boundscheck=False)
def ct_refund(ct_q: F64, ct_in: F64, credit: F64) -> None:  # pragma: no cover - compiled
    """What the channel failed to deliver, refunded (``Stepper._settle_counter_trade``'s numpy line, in its order):
    credit += sum ct_q - sum ct_in, each summed over (k, j) from its first term. (S, J, B) each, ``credit`` (B,)."""
    s_, nj, b_ = ct_q.shape
    a = np.zeros(b_)  # 0 where there is nothing to sum, as numpy's sum gives
    c = np.zeros(b_)
    for k in range(s_):
        for j in range(nj):
            for b in range(b_):
                if k == 0 and j == 0:
                    a[b] = ct_q[k, j, b]
                    c[b] = ct_in[k, j, b]
                else:
                    a[b] += ct_q[k, j, b]
                    c[b] += ct_in[k, j, b]
    for b in range(b_):
        credit[b] += a[b] - c[b]


@njit(cache=True, error_model="numpy", nogil=True, boundscheck=False)
def sum02(a: F64) -> F64:  # pragma: no cover - compiled
    """a.sum(axis=(0, 2)) of a C-ordered (K, T, J, B) array, (T, B), in numpy's order: over k, then j within each
    k, from the first term."""
    nk, nt, nj, b_ = a.shape
    out = np.zeros((nt, b_))  # 0 where there is nothing to sum, as numpy's sum gives
    for k in range(nk):
        for t in range(nt):
            for j in range(nj):
                for b in range(b_):
                    if k == 0 and j == 0:
                        out[t, b] = a[k, t, j, b]
                    else:
                        out[t, b] += a[k, t, j, b]
    return out


@njit(cache=True, error_model="numpy", nogil=True, boundscheck=False)
def link_sum(a: F64, x: F64, d_idx: I64, o_idx: I64, m: F64, assign: bool) -> None:  # pragma: no cover - compiled
    """Flows on links summed over products (``Stepper._bilateral``'s einsums, in their order): per link (d, o),
    sum_k a[k, d, o] x[k, o_idx[o]] from 0, assigned to m[d_idx[d], o_idx[o]] (``assign``) or subtracted from it.
    ``a`` (S, D, O, B), ``x`` (S, R_o, B), ``m`` (R_d, R_o, B)."""
    s_, nd, no, b_ = a.shape
    acc = np.empty(b_)
    for di in range(nd):
        dd = d_idx[di]
        for oi in range(no):
            ro = o_idx[oi]
            acc[:] = 0.0
            for k in range(s_):
                for b in range(b_):
                    acc[b] += a[k, di, oi, b] * x[k, ro, b]
            if assign:
                for b in range(b_):
                    m[dd, ro, b] = acc[b]
            else:
                for b in range(b_):
                    m[dd, ro, b] -= acc[b]


@njit(cache=True, error_model="numpy", nogil=True, boundscheck=False)
def link_fd(y: F64, f: F64, x: F64, o_idx: I64, m: F64) -> None:  # pragma: no cover - compiled
    """The redirected final demand on every link of one origin class, summed over products (``Stepper._bilateral``'s
    ``grown`` and its product, without the (R_d, R_c, S, B) temporary and the R_d x R_c products of one row):
    m[d, o_idx[oi]] += sum_k y[d, oi, k] (f[k, d] x[k, o_idx[oi]]), the sum from 0 in k's order. ``y`` (R_d, R_c,
    S), ``f`` (S, R_d, B), ``x`` (S, R_o, B), ``m`` (R_d, R_o, B). Not bit for bit the numpy path's: BLAS adds the
    ten terms of a row in an order of its own (measured: a difference in the last bit of a third of the sums)."""
    nd, nc, s_ = y.shape
    b_ = f.shape[2]
    acc = np.empty(b_)
    for d in range(nd):
        for oi in range(nc):
            o = o_idx[oi]
            acc[:] = 0.0
            for k in range(s_):
                yy = y[d, oi, k]
                for b in range(b_):
                    acc[b] += yy * (f[k, d, b] * x[k, o, b])
            for b in range(b_):
                m[d, o, b] += acc[b]


@njit(cache=True, error_model="numpy", nogil=True, boundscheck=False)
def div_lost(lost_z: F64, lost_y: F64, x: F64, f_idx: I64, m: F64) -> None:  # pragma: no cover - compiled
    """The friendly buyers' diverted orders taken off their other suppliers' links (``Stepper._bilateral``'s numpy
    lines, in their order): m[f_idx[f], o] -= sum_k (lost_z + lost_y)[k, f, o] x[k, o], the sum from its first
    term. ``lost_*`` (S, F, R_o, B), ``x`` (S, R_o, B), ``m`` (R_d, R_o, B)."""
    s_, nf, no, b_ = lost_z.shape
    acc = np.empty(b_)
    for fi in range(nf):
        ff = f_idx[fi]
        for o in range(no):
            acc[:] = 0.0
            for k in range(s_):
                for b in range(b_):
                    y = (lost_z[k, fi, o, b] + lost_y[k, fi, o, b]) * x[k, o, b]
                    if k == 0:
                        acc[b] = y
                    else:
                        acc[b] += y
            for b in range(b_):
                m[ff, o, b] -= acc[b]


@njit(cache=True, error_model="numpy", nogil=True, boundscheck=False)
def moved_pairs(
    g: F64, moved_z: F64, moved_y: F64, f_idx: I64, t_idx: I64, m: F64, sign: float
) -> None:  # pragma: no cover - compiled
    """The diverted orders on the links from the targets to the friendly buyers (``Stepper._bilateral``'s and
    ``_trade_values``' numpy lines, in their order): m[f_idx[f], t_idx[t]] += sign x sum_k g[k, t] (moved_z +
    moved_y)[k, f], the sum from its first term. ``g`` (S, R_t, B), ``moved_*`` (S, F, B), ``m`` (R_d, R_o, B);
    sign 1 or -1."""
    s_, nt, b_ = g.shape
    nf = moved_z.shape[1]
    acc = np.empty(b_)
    for fi in range(nf):
        ff = f_idx[fi]
        for ti in range(nt):
            tt = t_idx[ti]
            acc[:] = 0.0
            for k in range(s_):
                for b in range(b_):
                    y = g[k, ti, b] * (moved_z[k, fi, b] + moved_y[k, fi, b])
                    if k == 0:
                        acc[b] = y
                    else:
                        acc[b] += y
            for b in range(b_):
                m[ff, tt, b] += sign * acc[b]


def _frozen(a: F64) -> F64:
    """A read-only copy of ``a``: the baseline's arrays are read-only, and numba compiles those apart."""
    out = a.copy()
    out.flags.writeable = False
    return out


def warm() -> float:
    """Load (or, the first time on a machine, compile) every kernel, on tiny arrays of the types the step passes
    (read-only where they come from the baseline, strided where they are views); the seconds it took. Ray workers
    and the serial executor call it before the first batch's clock starts."""
    import time

    start = time.perf_counter()
    s, n, b = 2, 4, 8
    a3, b3, c3, d3 = (np.ones((s, n, b)) for _ in range(4))
    col, x, x2, cap = np.ones((s, n, 1)), np.ones((n, b)), np.ones((n, b)), np.empty((n, b))
    inventory_cap(a3, col, x)
    inventory_cap(a3, b3, x)
    none = np.empty((0, 0))
    for x0 in (col[0], _frozen(col[0])):
        for extra, k_new, stock_cap in ((none, none, none), (x, x, x), (none, x, x), (x, none, x), (none, none, x)):
            outs = [np.empty((n, b)) for _ in range(7)]
            produce(x, x2, x, np.ones(b), np.ones(b), True, x0, x, extra, k_new, stock_cap, 1e-200, *outs)
    for tech in (col, _frozen(col)):
        for use_mult, keep in ((True, False), (False, True)):
            settle_and_order(
                a3, b3, use_mult, tech, x, c3, d3, col, x, np.ones(b), np.ones((s, n, b)), col, False,
                np.ones((s, n, b)), keep, col, cap, 1e-5, 1e-8,
            )  # fmt: skip
    for z in (np.ones((s, 2, n)), _frozen(np.ones((s, 2, n)))):
        within_bloc(z, a3, b3, np.zeros(2, dtype=np.int64), np.eye(2, dtype=np.bool_))
    ratio(x, x2, 0.0)
    ratio(x, np.ones((n, 1)), 1.0)
    zeros = np.zeros(b, dtype=np.int64)
    recovery_step(x[:2], np.ones((2, 1)), 0.01, 0, zeros, np.full((2, b), -1), np.full((2, b), -1), 30)
    for w in (np.ones((2, s, 1)), np.ones((2, s, b)), _frozen(np.ones((2, s, 1)))):
        msum(np.ones((2, s, b)), w)
    empty, flags, tgt = np.empty((0, 0, 0)), np.ones(2, dtype=np.bool_), np.array([0, -1], dtype=np.int64)
    sig = np.ones((s, 2, b))  # the clocks: C order (``Stepper._clocks``), as every array below unless said
    for w_red, w_dom in ((c3, d3), (empty, empty)):
        for unfilled in (np.empty((s, 2, b)), empty):
            redirect(
                a3, b3, c3, False, w_red, w_dom, np.ones((2, b)), flags, sig, sig, True, 1e-6, flags, tgt, d3, d3,
                a3, d3, d3, unfilled,
            )  # fmt: skip
    zt, idx, blk = np.ones((s, 1, s, 1)), np.zeros(1, dtype=np.int64), np.ones((s, 1, 1, b))
    for red in (c3, empty):  # with substitution or without
        block_weights(zt, np.ones((2, s, b)), idx, idx, blk, blk, a3, red, red)
        block_deliveries(zt, np.ones((2, s, b)), idx, idx, blk, blk, a3, red, b3)
    four = np.ones((s, 2, 2, b))
    lz, ly, mz, my, out = (
        np.ones((s, 2, 2, b)),
        np.ones((s, 2, 2, b)),
        np.ones((s, 2, b)),
        np.ones((s, 2, b)),
        np.ones((2, s, b)),
    )
    for fd_m in (np.ones((s, 2, b)), empty):
        diverted(four, np.ones((2, s, b)), np.ones((s, 2, b)), np.ones((s, 2, 2)), fd_m, lz, ly, mz, my, out)
    pair = np.zeros(2, dtype=np.int64)
    cross_share(np.ones((2, 2)), np.ones((s, 2, b)))
    sum02(four)
    x3 = np.ones((s, 2, b))
    for assign in (True, False):
        link_sum(four, x3, pair, pair, np.ones((2, 2, b)), assign)
    div_lost(four, four, x3, pair, np.ones((2, 2, b)))
    for f3 in (np.ones((s, 2, b)), _frozen(np.ones((s, 2, b)))):  # one class's factor, or 1 + F read only
        link_fd(np.ones((2, 2, s)), f3, x3, pair, np.ones((2, 2, b)))
    moved_pairs(x3, np.ones((s, 2, b)), np.ones((s, 2, b)), pair, pair, np.ones((2, 2, b)), -1.0)
    ct_demand(np.ones((s, 2 * s, b)), np.ones((2, s, b)), np.ones((2 * s, b)))
    ct_refund(np.ones((s, 2 * s, b)), np.ones((s, 2 * s, b)), np.ones(b))
    for w4, c, first in (
        (four, empty, False),
        (four, np.ones((2, s, b)), False),
        (np.empty((0, 0, 0, 0)), empty, True),
    ):
        block_sum(np.ones((2, s, b)), pair, four, w4, c, first, -1.0)
    block_sum(np.ones((s, b, 2)).transpose(2, 0, 1), pair, four, four, empty, False, -1.0)  # one class: a view
    ct_buy(np.ones((s, 2 * s, b)), np.ones((s, b), dtype=np.bool_), np.ones(b), np.empty((s, 2 * s, b)), np.ones(b))
    for red in (c3, empty):
        open_weights(a3, col, b3, red)
    weigh_add(a3, b3, c3, d3)
    weigh_add(a3, empty, c3, d3)
    channel_exports(np.ones((s, 2 * s, b)), np.ones((2, 2)), np.ones((2, s, b)), np.ones((2, s, b)), np.ones((2, b)))
    fd_factor(a3, b3, np.ones(b, dtype=np.bool_), c3)
    diverted_receipts(np.ones((s, 2, 2, b)), np.ones((s, 2, 2, b)), np.ones((s, b)), np.ones((s, b)),
                      np.ones((2, b)), a3, pair, b3)  # fmt: skip
    expand(x, x2, x, np.zeros((n, b)), x, x2, x)
    add_rows(a3, pair, np.ones((s, 2, b)))
    for w in (np.ones((2, 2)), np.empty((0, 0))):
        fd_block(four, np.ones((2, s, b)), pair, pair, w, np.ones((s, 2, b)), np.ones((2, s, b)))
    prem = np.ones((s, b))  # the premia (S, B), contiguous (``Stepper.premium_k``)
    leak_premium(four, four, empty, np.ones((2, s, b)), np.ones((2, s, b)), pair, pair, prem, np.ones((2, b)))
    leak_premium(
        four, np.empty((0, 0, 0, 0)), np.ones((s, 2, b)), np.ones((2, s, b)), empty, pair, pair, prem, np.ones((2, b))
    )
    return time.perf_counter() - start
