"""Two-dimensional RAS: scale a matrix's rows and columns until both margins hold."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from cluster.calibration.table import CalibrationError

__all__ = ["ras"]

F64 = NDArray[np.float64]


def ras(prior: F64, rows: F64, cols: F64, tol: float = 1e-14, sweeps: int = 10000) -> F64:
    """Two-dimensional RAS: scale the rows and columns of ``prior`` until they sum to the targets.

    Parameters
    ----------
    prior
        (m, k) non-negative array; its zero cells stay zero. Every row and column needs a non-zero cell.
    rows, cols
        (m,) and (k,) positive targets of the row and column sums; they must agree in total.
    tol
        Stop once every row sum is within this relative error of its target (after a column scaling, so the
        columns hold to rounding).
    sweeps
        ``CalibrationError`` if the rows do not converge within this many row-and-column scalings.

    Returns
    -------
    (m, k) array, a new one (``prior`` is not modified).
    """
    m = prior.copy()
    for _ in range(sweeps):
        m *= (rows / m.sum(axis=1))[:, None]
        m *= cols / m.sum(axis=0)
        if np.max(np.abs(m.sum(axis=1) / rows - 1.0)) <= tol:
            return m
    raise CalibrationError("the regional value-added structure does not balance")
