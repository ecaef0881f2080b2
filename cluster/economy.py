"""The baseline economy: labels, flows and region tags, and the checks that it can be simulated."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from cluster.core import Baseline
from cluster.errors import EconomyError

__all__ = ["Economy", "Summary", "format_economy", "one_line", "summarize", "synthetic"]

F64 = NDArray[np.float64]
_CONTROL = re.compile("[\x00-\x1f\x7f\x85\u2028\u2029]")


def one_line(text: str) -> str:
    """``text`` with its line breaks and other control characters escaped (``\\n``): an error is one line."""
    return _CONTROL.sub(lambda m: repr(m.group())[1:-1], text)


def plain_label(label: str) -> bool:
    """Whether a label is fit for tables and messages: no line break or other control character."""
    return _CONTROL.search(label) is None


@dataclass(frozen=True, eq=False)
class Economy:
    """A multi-regional input-output table with annual flows in one money unit.

    ``z`` is (n, n) and ``y`` (n, R * C), both region-major (industry ``r * S + s``; final-demand column
    ``r * C + c``). ``domestic`` marks the regions that are the scenario's own (the rest are external
    partners).
    """

    id: str
    regions: tuple[str, ...]
    sectors: tuple[str, ...]
    z: F64
    y: F64
    fd_categories: tuple[str, ...] = ("final demand",)
    domestic: NDArray[np.bool_] = field(default_factory=lambda: np.zeros(0, dtype=bool))
    unit: str = "money"
    source: str = ""
    #: Per region: the country it belongs to, and its default coalition membership and friendly status
    #: (configs may override them). Empty means: each region is its own country, neither.
    country: tuple[str, ...] = ()
    coalition: NDArray[np.bool_] = field(default_factory=lambda: np.zeros(0, dtype=bool))
    friendly: NDArray[np.bool_] = field(default_factory=lambda: np.zeros(0, dtype=bool))
    provenance: dict[str, Any] = field(default_factory=dict)
    #: Long names for people ("Central Federal District", "Machinery and equipment"); empty means the labels.
    region_names: tuple[str, ...] = ()
    sector_names: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        r = len(self.regions)
        for name in ("domestic", "coalition", "friendly"):
            value = np.asarray(getattr(self, name), dtype=bool)
            if value.size == 0:
                value = np.zeros(r, dtype=bool)
            object.__setattr__(self, name, value)
        if not self.country:
            object.__setattr__(self, "country", tuple(self.regions))
        for name, labels in (("region_names", self.regions), ("sector_names", self.sectors)):
            if not getattr(self, name):
                object.__setattr__(self, name, tuple(labels))
        object.__setattr__(self, "z", np.asarray(self.z, dtype=np.float64))
        object.__setattr__(self, "y", np.asarray(self.y, dtype=np.float64))
        self.check()

    @property
    def n(self) -> int:
        """Number of industries."""
        return len(self.regions) * len(self.sectors)

    @property
    def x(self) -> F64:
        """Annual gross output, (n,)."""
        return self.z.sum(axis=1) + self.y.sum(axis=1)  # type: ignore[no-any-return]

    @property
    def value_added(self) -> F64:
        """Annual value added, (n,)."""
        return self.x - self.z.sum(axis=0)  # type: ignore[no-any-return]

    def industry(self, region: str, sector: str) -> int:
        """Index of an industry; ``EconomyError`` naming the label if unknown."""
        if region not in self.regions:
            raise EconomyError(f"economy {self.id!r} has no region {region!r}; it has {list(self.regions)}")
        if sector not in self.sectors:
            raise EconomyError(f"economy {self.id!r} has no sector {sector!r}; it has {list(self.sectors)}")
        return self.regions.index(region) * len(self.sectors) + self.sectors.index(sector)

    def check(self) -> None:
        """Refuse a table that cannot be simulated, naming the culprit."""
        r, s, c = len(self.regions), len(self.sectors), len(self.fd_categories)
        n = r * s
        if self.z.shape != (n, n):
            raise EconomyError(f"economy {self.id!r}: Z has shape {self.z.shape}, expected ({n}, {n})")
        if self.y.shape != (n, r * c):
            raise EconomyError(f"economy {self.id!r}: Y has shape {self.y.shape}, expected ({n}, {r * c})")
        for name in ("domestic", "coalition", "friendly"):
            if getattr(self, name).shape != (r,):
                raise EconomyError(
                    f"economy {self.id!r}: {name} tags have {getattr(self, name).size} entries, "
                    f"expected one per region ({r})"
                )
        if len(self.country) != r:
            raise EconomyError(f"economy {self.id!r}: {len(self.country)} country tags for {r} regions")
        for name, labels in (("region_names", self.regions), ("sector_names", self.sectors)):
            if len(getattr(self, name)) != len(labels):
                raise EconomyError(f"economy {self.id!r}: {len(getattr(self, name))} {name} for {len(labels)} labels")
        for name, labels in (("region", self.regions), ("sector", self.sectors)):
            seen = {lab for lab in labels if labels.count(lab) > 1}
            if seen:
                raise EconomyError(f"economy {self.id!r}: duplicated {name} labels {sorted(seen)}")
        for name, arr in (("Z", self.z), ("Y", self.y)):
            bad = ~np.isfinite(arr)
            if bad.any():
                i = int(np.argwhere(bad)[0][0])
                raise EconomyError(f"economy {self.id!r}: {name} has NaN or inf in the row of {self._label(i)}")
        if (self.z < 0).any():
            i, j = (int(v) for v in np.argwhere(self.z < 0)[0])
            raise EconomyError(
                f"economy {self.id!r}: negative intermediate flow from {self._label(i)} to {self._label(j)}"
            )
        x = self.x
        if not (x > 0).any():
            raise EconomyError(f"economy {self.id!r} has no output at all: every flow of Z and Y is 0")
        zero_out = (x <= 0) & (self.z.sum(axis=0) > 0)
        if zero_out.any():
            i = int(np.flatnonzero(zero_out)[0])
            raise EconomyError(f"economy {self.id!r}: {self._label(i)} has inputs but no output")
        va = self.value_added
        tol = 1e-9 * max(float(np.abs(x).max()), 1.0)
        if (va < -tol).any():
            i = int(np.flatnonzero(va < -tol)[0])
            raise EconomyError(f"economy {self.id!r}: value added of {self._label(i)} is negative ({va[i]:.6g})")

    def _label(self, i: int) -> str:
        s = len(self.sectors)
        return f"{self.regions[i // s]}/{self.sectors[i % s]}"

    def baseline(self) -> Baseline:
        """The core's arrays (daily flows)."""
        return Baseline.from_annual(self.z, self.y, len(self.regions), len(self.sectors), self.domestic)

    def to_parquet(self, path: str | Path) -> None:
        """Write the economy as one Parquet file (non-zero flows + labels and tags in metadata), atomically."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        from cluster.schema import economy_metadata

        path = Path(path)
        full = np.concatenate([self.z, self.y], axis=1)
        rows, cols = np.nonzero(full)
        table = pa.table(
            {"row": rows.astype(np.int32), "col": cols.astype(np.int32), "value": full[rows, cols]},
            schema=economy_metadata(self._info()),
        )
        tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
        try:
            pq.write_table(table, tmp, compression="zstd")
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)

    def _info(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "regions": list(self.regions),
            "sectors": list(self.sectors),
            "fd_categories": list(self.fd_categories),
            "country": list(self.country),
            "domestic": self.domestic.tolist(),
            "coalition": self.coalition.tolist(),
            "friendly": self.friendly.tolist(),
            "region_names": list(self.region_names),
            "sector_names": list(self.sector_names),
            "unit": self.unit,
            "source": self.source,
            "provenance": self.provenance,
        }

    @classmethod
    def read_parquet(cls, path: str | Path) -> Economy:
        """Read a file written by ``to_parquet``; ``EconomyError`` naming the file if it is not one."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        from cluster.schema import ECONOMY_FORMAT, read_metadata

        path = Path(path)
        where = f"economy file {str(path)!r}"
        try:
            table = pq.read_table(path)
            types = {name: table.schema.field(name).type for name in table.schema.names}
        except (OSError, pa.ArrowException, UnicodeDecodeError) as err:  # a damaged file: names not UTF-8
            raise EconomyError(one_line(f"cannot read {where}: {err}")) from err
        try:
            info = read_metadata(table.schema)
        except ValueError as err:  # not UTF-8, not JSON
            raise EconomyError(one_line(f"{where}: its 'shock' metadata is not JSON ({err}); rewrite it")) from err
        if info is None or info.get("format") != ECONOMY_FORMAT:
            raise EconomyError(
                f"{str(path)!r} is not a shock economy file (format {ECONOMY_FORMAT!r}); "
                "plain matrices load with the 'matrices' loader, pymrio folders with 'pymrio'"
            )
        for name, test in (("row", pa.types.is_integer), ("col", pa.types.is_integer), ("value", pa.types.is_floating)):
            if name not in types or not test(types[name]):
                raise EconomyError(
                    one_line(f"{where}: needs the columns row, col (integers) and value (floats); it has {types}")
                )
        regions, sectors, cats = (_labels(info, key, where) for key in ("regions", "sectors", "fd_categories"))
        n, width = len(regions) * len(sectors), len(regions) * (len(sectors) + len(cats))
        full = np.zeros((n, width))
        rows = table.column("row").to_numpy(zero_copy_only=False)
        cols = table.column("col").to_numpy(zero_copy_only=False)
        if table.column("row").null_count or table.column("col").null_count:
            raise EconomyError(f"{where}: a flow has no row or col index")
        if rows.size and (rows.max() >= n or cols.max() >= width or rows.min() < 0 or cols.min() < 0):
            raise EconomyError(f"{where}: a flow index lies outside the labelled table")
        full[rows, cols] = table.column("value").to_numpy(zero_copy_only=False)
        provenance = info.get("provenance", {})
        if not isinstance(provenance, dict):
            raise EconomyError(one_line(f"{where}: metadata 'provenance' is {provenance!r}, not a JSON object"))
        fields: dict[str, Any] = {
            "id": _text(info, "id", where),
            "unit": _text(info, "unit", where),
            "source": _text(info, "source", where),
            "country": _labels(info, "country", where),
            **{key: _flags(info, key, where) for key in ("domestic", "coalition", "friendly")},
            "region_names": _labels(info, "region_names", where, _named(list(regions), info, "region_names")),
            "sector_names": _labels(info, "sector_names", where, _named(list(sectors), info, "sector_names")),
        }
        try:
            return cls(
                regions=regions,
                sectors=sectors,
                z=full[:, :n],
                y=full[:, n:],
                fd_categories=cats,
                provenance=provenance,
                **fields,
            )
        except EconomyError as err:
            raise EconomyError(f"{where}: {err}") from err

    def to_pymrio(self) -> Any:
        """This table as a ``pymrio.IOSystem`` (needs the optional pymrio and pandas packages)."""
        try:
            import pandas as pd
            import pymrio
        except ImportError as err:
            raise EconomyError("converting to pymrio needs pymrio and pandas: pip install pymrio") from err
        rows = pd.MultiIndex.from_product([list(self.regions), list(self.sectors)], names=["region", "sector"])
        cols = pd.MultiIndex.from_product([list(self.regions), list(self.fd_categories)], names=["region", "category"])
        io = pymrio.IOSystem(
            Z=pd.DataFrame(self.z, index=rows, columns=rows),
            Y=pd.DataFrame(self.y, index=rows, columns=cols),
            name=self.id,
        )
        io.calc_all()
        return io


def _text(info: dict[str, Any], key: str, where: str) -> str:
    """A text field of an economy file's metadata."""
    if key not in info:
        raise EconomyError(f"{where}: metadata lacks {key!r}")
    value = info[key]
    if not isinstance(value, str) or not plain_label(value):
        raise EconomyError(one_line(f"{where}: metadata {key!r} is {value!r}, not a line of text"))
    return value


def _labels(info: dict[str, Any], key: str, where: str, names: list[str] | None = None) -> tuple[str, ...]:
    """A list of labels in an economy file's metadata, or of long ``names`` (the default when absent or empty)."""
    value = info.get(key)
    if not value and names is not None:
        value = names
    elif key not in info:
        raise EconomyError(f"{where}: metadata lacks {key!r}")
    if not isinstance(value, list) or not all(
        isinstance(v, str) and (v or names is not None) and plain_label(v) for v in value
    ):
        raise EconomyError(one_line(f"{where}: metadata {key!r} is {value!r}, not a list of labels (plain text)"))
    return tuple(value)


def _flags(info: dict[str, Any], key: str, where: str) -> NDArray[np.bool_]:
    """A list of region tags (true or false) in an economy file's metadata."""
    if key not in info:
        raise EconomyError(f"{where}: metadata lacks {key!r}")
    value = info[key]
    if not isinstance(value, list) or not all(isinstance(v, bool) for v in value):
        raise EconomyError(one_line(f"{where}: metadata {key!r} is {value!r}, not a list of true/false"))
    return np.array(value, dtype=bool)


def _named(labels: list[str], info: dict[str, Any], key: str) -> list[str]:
    """Long names of a file written before they were a field: from its provenance, else the labels."""
    names = info.get("provenance", {}).get(key, {})
    return [str(names.get(lab, lab)) if isinstance(names, dict) else lab for lab in labels]


def synthetic(n_regions: int = 22, n_sectors: int = 10, *, seed: int = 0, n_domestic: int = 0) -> Economy:
    """A deterministic random economy for tests and benchmarks (not calibrated to anything).

    Flows have a domestic bias (a region buys most inputs at home), about half of the links are empty and
    every industry has positive value added. The first ``n_domestic`` regions are tagged domestic.
    """
    rng = np.random.default_rng(seed)
    r, s = n_regions, n_sectors
    n = r * s
    region = np.repeat(np.arange(r), s)
    home = region[:, None] == region[None, :]
    z = rng.uniform(0.0, 1.0, (n, n)) * (rng.uniform(size=(n, n)) < 0.5) * np.where(home, 400.0, 40.0)
    empty = z.sum(axis=0) == 0
    z[empty, empty] = 100.0  # an industry that would buy nothing buys from itself
    y = rng.uniform(50.0, 400.0, (n, r)) * np.where(region[:, None] == np.arange(r)[None, :], 20.0, 1.0)
    # Scale inputs so that intermediate use is 40-60% of output: value added stays positive.
    x = z.sum(axis=1) + y.sum(axis=1)
    share = rng.uniform(0.4, 0.6, n)
    z = z * (share * x / z.sum(axis=0))[None, :]
    for _ in range(50):  # a few fixed-point passes: column use tracks the (changing) output
        x = z.sum(axis=1) + y.sum(axis=1)
        z = z * (share * x / z.sum(axis=0))[None, :]
    regions = tuple(f"R{i:02d}" for i in range(r))
    sectors = tuple(f"S{i:02d}" for i in range(s))
    dom = np.arange(r) < n_domestic
    return Economy(
        id=f"synthetic-{r}x{s}-{seed}", regions=regions, sectors=sectors, z=z, y=y, domestic=dom, source="synthetic"
    )


@dataclass(frozen=True)
class Summary:
    """A readable digest of an economy (annual figures in the economy's unit)."""

    output_by_region: F64  # (R,)
    va_by_region: F64  # (R,)
    output_by_sector: F64  # (S,)
    exports_by_partner: F64  # (R,) domestic bloc's exports to each non-domestic region
    imports_by_partner: F64  # (R,) domestic bloc's imports from each non-domestic region


def summarize(economy: Economy) -> Summary:
    """Output and value added by region, output by sector, and the domestic bloc's trade by partner."""
    r, s = len(economy.regions), len(economy.sectors)
    x = economy.x.reshape(r, s)
    z_rr = economy.z.reshape(r, s, r, s).sum(axis=(1, 3))
    y_rr = economy.y.reshape(r, s, r, -1).sum(axis=(1, 3))
    trade = z_rr + y_rr  # (origin, destination)
    dom = economy.domestic
    exports = np.where(dom, 0.0, trade[dom].sum(axis=0))
    imports = np.where(dom, 0.0, trade[:, dom].sum(axis=1))
    return Summary(x.sum(axis=1), economy.value_added.reshape(r, s).sum(axis=1), x.sum(axis=0), exports, imports)


#: Long names are cut to this many characters in text tables.
NAME_WIDTH = 34


def _share(part: float, whole: float) -> str:
    """``part`` as a percentage of ``whole`` ("-" when the whole is 0: domestic regions that trade with no one)."""
    return f"{part / whole:.1%}" if whole > 0 else "-"


def _fit(name: str, width: int) -> str:
    return name if len(name) <= width else name[: width - 1] + "…"


def format_economy(eco: Economy) -> list[str]:
    """A readable digest as text lines: output and value added by region, output by sector, and the domestic
    regions' trade by partner, with long names beside the labels (``shock economy show``)."""
    summ = summarize(eco)
    lines = [
        f"economy {eco.id}: {len(eco.regions)} regions x {len(eco.sectors)} sectors, annual flows in "
        f"{eco.unit or 'money'}"
    ]
    if eco.provenance.get("note"):
        lines.append(str(eco.provenance["note"]))
    total = summ.output_by_region.sum()
    w = min(NAME_WIDTH, max(len(name) for name in (*eco.region_names, *eco.sector_names, "name"))) + 2
    lines += [
        "",
        f"{'region':<12}{'name':<{w}}{'country':<10}{'tags':<22}{'output':>12}{'share':>8}{'value added':>13}",
    ]
    for j, region in enumerate(eco.regions):
        flags = (("domestic", eco.domestic[j]), ("coalition", eco.coalition[j]), ("friendly", eco.friendly[j]))
        tags = ",".join(name for name, on in flags if on) or "-"
        out = summ.output_by_region[j]
        lines.append(
            f"{region:<12}{_fit(eco.region_names[j], w - 2):<{w}}{eco.country[j]:<10}{tags:<22}"
            f"{out:>12,.1f}{out / total:>8.1%}{summ.va_by_region[j]:>13,.1f}"
        )
    lines += ["", f"{'sector':<16}{'name':<{w}}{'output':>12}{'share':>8}"]
    for k, sector in enumerate(eco.sectors):
        out = summ.output_by_sector[k]
        lines.append(f"{sector:<16}{_fit(eco.sector_names[k], w - 2):<{w}}{out:>12,.1f}{out / total:>8.1%}")
    if eco.domestic.any():
        turnover = summ.exports_by_partner + summ.imports_by_partner
        lines += [
            "",
            "trade of the domestic regions by partner",
            f"{'partner':<12}{'name':<{w}}{'exports':>12}{'imports':>12}{'share':>8}",
        ]
        for p in np.flatnonzero(~eco.domestic).tolist():
            lines.append(
                f"{eco.regions[p]:<12}{_fit(eco.region_names[p], w - 2):<{w}}"
                f"{summ.exports_by_partner[p]:>12,.1f}{summ.imports_by_partner[p]:>12,.1f}"
                f"{_share(turnover[p], turnover.sum()):>8}"
            )
    return lines
