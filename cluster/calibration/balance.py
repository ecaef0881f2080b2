"""Iterative proportional fitting of [Z | Y] to every calibration target (step 5)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from cluster.calibration.constraints import Block
from cluster.calibration.table import CalibrationError
from cluster.calibration.targets import Targets

__all__ = ["MAX_SWEEPS", "TOLERANCE", "Balanced", "balance", "max_residual"]

F64 = NDArray[np.float64]

#: Balancing stops when every constraint holds to this relative error (a few ulps above rounding noise) ...
TOLERANCE = 1e-13
#: ... and fails if that takes more sweeps than this (it takes ~400).
MAX_SWEEPS = 5000


@dataclass(frozen=True)
class Balanced:
    """The balanced flows and how the balancing went."""

    flows: F64  # (n, n + R) [Z | Y]
    sweeps: int
    residual: float


def balance(t: Targets, prior: F64, cons: list[Block]) -> Balanced:
    """Step 5: iterative proportional fitting of the prior to every target.

    Cyclic Kullback-Leibler projections of the prior onto each constraint in turn (output per industry, input
    of each product per industry, final demand per region and per product, then the trade blocks); converges
    to the table closest to the prior (in KL) that meets every constraint.

    Parameters
    ----------
    t
        The targets (R regions, S sectors, n = R * S industries).
    prior
        (n, n + R) array [Z | Y], not modified.
    cons
        The trade constraints.

    Returns
    -------
    The balanced (n, n + R) flows, the number of sweeps, and the largest relative residual (at most
    ``TOLERANCE``); ``CalibrationError`` after ``MAX_SWEEPS`` sweeps.
    """
    r, s = len(t.regions), len(t.sectors)
    n = r * s
    x = t.x.reshape(n)
    use = t.a[:, np.tile(np.arange(s), r)] * x[None, :]  # (S, n)
    m = prior.copy()
    t3 = m.reshape(r, s, n + r)  # a view: t3[ro, k] is product k from region ro
    residual = math.inf
    for sweep in range(1, MAX_SWEEPS + 1):
        m *= (x / m.sum(axis=1))[:, None]  # output of each industry
        t3[:, :, :n] *= (use / t3[:, :, :n].sum(axis=0))[None, :, :]  # input of each product per industry
        fd = t3[:, :, n:]
        fd *= (t.fd_region / fd.sum(axis=(0, 1)))[None, None, :]  # final demand per region
        fd *= (t.fd_product / fd.sum(axis=(0, 2)))[None, :, None]  # world final demand per product
        for b in cons:
            f = b.target / b.total(m)
            for rows, cols in b.parts:
                m[np.ix_(rows, cols)] *= f
        residual = max_residual(t, m, cons)
        if residual <= TOLERANCE:
            return Balanced(m, sweep, residual)
    raise CalibrationError(
        f"balancing did not converge in {MAX_SWEEPS} sweeps (residual {residual:.3g}): "
        "the targets are probably inconsistent (e.g. exports above what a product's output "
        "leaves after domestic use)"
    )


def max_residual(t: Targets, m: F64, cons: list[Block]) -> float:
    """Largest relative error of any constraint on the (n, n + R) flows ``m``."""
    r, s = len(t.regions), len(t.sectors)
    n = r * s
    x = t.x.reshape(n)
    use = t.a[:, np.tile(np.arange(s), r)] * x[None, :]
    t3 = m.reshape(r, s, n + r)
    errs = [
        np.max(np.abs(m.sum(axis=1) / x - 1.0)),
        np.max(np.abs(t3[:, :, :n].sum(axis=0) / use - 1.0)),
        np.max(np.abs(t3[:, :, n:].sum(axis=(0, 1)) / t.fd_region - 1.0)),
        np.max(np.abs(t3[:, :, n:].sum(axis=(0, 2)) / t.fd_product - 1.0)),
    ]
    errs += [abs(b.total(m) / b.target - 1.0) for b in cons]
    return float(max(errs))
