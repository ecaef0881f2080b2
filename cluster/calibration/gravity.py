"""The gravity prior (step 4): a first guess of every flow from outputs, needs and effective distances."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from cluster.calibration.table import fval
from cluster.calibration.targets import Targets

__all__ = ["PRUNE", "prior_flows"]

F64 = NDArray[np.float64]

#: Prior links carrying less than this share of their supplier's output are dropped (zero in the table):
#: under USD 1 per USD 10 million of output; the balancing then works on the remaining links.
PRUNE = 1e-7


def prior_flows(t: Targets, table: dict[str, Any]) -> F64:
    """Step 4: the prior of every flow.

    Supplier output x buyer's need x distance^-elasticity, divided by a border factor across national borders
    and multiplied by an own-region factor for sub-national regions; links under ``PRUNE`` of their supplier's
    output are set to zero.

    Parameters
    ----------
    t
        The targets (R regions, S sectors, n = R * S industries).
    table
        The calibration table (its ``[prior]`` factors).

    Returns
    -------
    (n, n + R) array [Z | Y]: intermediate flows to the n industries, then final demand of the R regions.
    """
    r, s = len(t.regions), len(t.sectors)
    n = r * s
    pr = table["prior"]
    border = np.where(t.goods, fval(pr["border_goods"]), fval(pr["border_nongoods"]))  # (S,)
    home = np.where(t.goods, fval(pr["home_goods"]), fval(pr["home_nongoods"]))  # (S,)
    country = np.array(t.country)
    cross = country[:, None] != country[None, :]  # (R, R): a national border between the regions
    # Own-region bias for sub-national regions only (intranational home bias); a partner's own flows are those
    # of whole countries, already favoured over foreign ones by the border factor.
    own = np.eye(r, dtype=bool) & t.domestic[:, None]
    # resistance[ro, k, rd]: distance decay / national border * own-region bias
    resistance = (
        t.dist[:, None, :] ** -fval(pr["distance_elasticity"])
        / np.where(cross[:, None, :], border[None, :, None], 1.0)
        * np.where(own[:, None, :], home[None, :, None], 1.0)
    )
    x = t.x.reshape(n)
    need_z = t.a[:, np.tile(np.arange(s), r)] * x[None, :]  # (S, n): input of product k by industry j
    need_y = t.fd_product[:, None] * t.fd_region[None, :] / t.fd_product.sum()  # (S, R): world mix x regional total
    z = t.x[:, :, None] * need_z[None, :, :] * resistance[:, :, np.repeat(np.arange(r), s)]  # (R, S, n)
    y = t.x[:, :, None] * need_y[None, :, :] * resistance  # (R, S, R)
    m = np.concatenate([z.reshape(n, n), y.reshape(n, r)], axis=1)
    m[m < PRUNE * m.sum(axis=1, keepdims=True)] = 0.0
    return m
