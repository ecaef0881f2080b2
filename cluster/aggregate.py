"""Aggregate an ``Economy`` onto coarser regions, sectors and final-demand categories by a concordance.

A concordance maps source labels onto target labels, one dimension at a time, as CSV or TOML:

``concordance.csv`` (one header line, then one mapping per line; blank lines and lines starting with
``#`` are skipped)::

    kind,source,target
    region,RU-MOW,Central
    region,RU-SPE,Northwestern
    sector,D01T02,Agriculture
    category,HFCE,Households

``concordance.toml``::

    keep_unlisted = false          # optional, see below
    [regions]
    RU-MOW = "Central"
    RU-SPE = "Northwestern"
    [sectors]
    D01T02 = "Agriculture"
    [categories]
    HFCE = "Households"

Rules:

* ``kind`` is ``region``, ``sector`` or ``category`` (plurals accepted). A dimension with no entries at
  all stays as it is (so a sectors-only concordance keeps every region); in TOML, a table that is there
  but empty is refused. Quote TOML keys that hold dots or spaces (``"C10.1" = "Food"``).
* A dimension that has entries must list every label of the economy, unless ``keep_unlisted`` is true:
  then unlisted labels map onto themselves (and merge with a target of the same name, if any).
  ``read_concordance(keep_unlisted=...)`` overrides the file's value.
* Target labels are ordered by first appearance in the file; kept unlisted labels follow in the
  economy's order.
* Refused, naming the file and the label: a source not in the economy, an empty target, a source
  mapped to two targets (the same pair twice is harmless), an empty TOML table, unknown TOML keys.

Region tags of a target region: ``domestic`` when its sources are; a target merging domestic with
foreign regions is refused. ``coalition`` and ``friendly`` when all its sources are. Its ``country`` is
its sources' country when they share one, else the target label.

Totals are preserved: each target cell is the sum of its source cells (``numpy.bincount``, so the sum
runs in source order and equals a plain sum up to rounding).
"""

from __future__ import annotations

import csv
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from cluster.economy import Economy
from cluster.errors import EconomyError

__all__ = ["Concordance", "aggregate", "read_concordance"]

_DIMENSIONS = ("regions", "sectors", "categories")
_PLURAL = {"region": "regions", "sector": "sectors", "category": "categories"}
_SINGULAR = {plural: one for one, plural in _PLURAL.items()}


@dataclass(frozen=True)
class Concordance:
    """Source label -> target label per dimension; ``None`` keeps a dimension as it is.

    ``path`` names the concordance in error messages.
    """

    regions: Mapping[str, str] | None = None
    sectors: Mapping[str, str] | None = None
    categories: Mapping[str, str] | None = None
    keep_unlisted: bool = False
    path: str = "<concordance>"

    def __post_init__(self) -> None:
        for dim in _DIMENSIONS:
            mapping = getattr(self, dim)
            if mapping is None:
                continue
            if not mapping:
                raise EconomyError(f"concordance {self.path!r}: [{dim}] is empty; leave it out to keep the {dim}")
            clean: dict[str, str] = {}
            for source, target in mapping.items():
                if not isinstance(source, str) or not source.strip():
                    raise EconomyError(f"concordance {self.path!r}: an empty source label in [{dim}]")
                if not isinstance(target, str) or not target.strip():
                    raise EconomyError(
                        f"concordance {self.path!r}: {_SINGULAR[dim]} {source!r} maps to an empty target {target!r}"
                    )
                key = source.strip()
                if clean.get(key, target.strip()) != target.strip():
                    raise EconomyError(
                        f"concordance {self.path!r}: {_SINGULAR[dim]} {key!r} is mapped to "
                        f"{clean[key]!r} and to {target.strip()!r}"
                    )
                clean[key] = target.strip()
            object.__setattr__(self, dim, clean)


def read_concordance(path: str | Path, *, keep_unlisted: bool | None = None) -> Concordance:
    """A concordance from a ``.csv`` or ``.toml`` file (module docstring); ``keep_unlisted`` overrides the file's."""
    path = Path(path)
    name = str(path)
    if not path.is_file():
        raise EconomyError(f"no such concordance file: {name!r}; check the path")
    suffix = path.suffix.lower()
    if suffix == ".csv":
        tables, file_keep = _read_csv(path), False
    elif suffix == ".toml":
        tables, file_keep = _read_toml(path)
    else:
        raise EconomyError(f"concordance {name!r}: a concordance is a .csv or .toml file, not {path.suffix!r}")
    if not tables:
        raise EconomyError(f"concordance {name!r} maps nothing: it has no region, sector or category entries")
    return Concordance(**tables, keep_unlisted=file_keep if keep_unlisted is None else keep_unlisted, path=name)


def aggregate(economy: Economy, concordance: Concordance, *, id: str | None = None) -> Economy:
    """``economy`` with its regions, sectors and categories mapped by ``concordance``, totals preserved."""
    conc = concordance
    regions, r_of = _targets(economy.regions, conc.regions, conc, "region", economy.id)
    sectors, s_of = _targets(economy.sectors, conc.sectors, conc, "sector", economy.id)
    cats, c_of = _targets(economy.fd_categories, conc.categories, conc, "category", economy.id)
    r1, s1, c1 = len(regions), len(sectors), len(cats)
    n1 = r1 * s1
    ind = (r_of[:, None] * s1 + s_of[None, :]).ravel()  # (n0,) target industry of each source industry
    fd = (r_of[:, None] * c1 + c_of[None, :]).ravel()  # (R0 * C0,) target final-demand column
    z = _sum_into((ind[:, None] * n1 + ind[None, :]).ravel(), economy.z.ravel(), n1 * n1).reshape(n1, n1)
    y = _sum_into((ind[:, None] * (r1 * c1) + fd[None, :]).ravel(), economy.y.ravel(), n1 * r1 * c1)
    tags = _tags(economy, regions, r_of, conc)
    provenance: dict[str, Any] = {"aggregated_from": economy.id, "concordance": conc.path}
    if economy.provenance:
        provenance["source_provenance"] = economy.provenance
    return Economy(
        id=id or f"{economy.id}:{Path(conc.path).stem}",
        regions=regions,
        sectors=sectors,
        z=z,
        y=y.reshape(n1, r1 * c1),
        fd_categories=cats,
        unit=economy.unit,
        source=economy.source,
        provenance=provenance,
        **tags,
    )


def _sum_into(index: NDArray[np.intp], values: NDArray[np.float64], size: int) -> NDArray[np.float64]:
    """``out[k]`` = sum of ``values[index == k]``, added in the order of ``values``."""
    return np.bincount(index, weights=values, minlength=size).astype(np.float64, copy=False)


def _targets(
    labels: Sequence[str], mapping: Mapping[str, str] | None, conc: Concordance, what: str, economy_id: str
) -> tuple[tuple[str, ...], NDArray[np.intp]]:
    """Target labels (file order, then kept unlisted labels) and the target index of each source label."""
    if mapping is None:
        return tuple(labels), np.arange(len(labels), dtype=np.intp)
    unknown = [src for src in mapping if src not in labels]
    if unknown:
        raise EconomyError(
            f"concordance {conc.path!r}: {what} labels {_few(unknown)} are not in economy "
            f"{economy_id!r}, whose {_PLURAL[what]} are {_few(list(labels))}"
        )
    unlisted = [lab for lab in labels if lab not in mapping]
    if unlisted and not conc.keep_unlisted:
        raise EconomyError(
            f"concordance {conc.path!r} does not map the {_PLURAL[what]} {_few(unlisted)} of "
            f"economy {economy_id!r}; list them, or set keep_unlisted to keep them"
        )
    full = {lab: mapping.get(lab, lab) for lab in labels}
    order = tuple(dict.fromkeys([*mapping.values(), *(lab for lab in labels if lab not in mapping)]))
    at = {target: i for i, target in enumerate(order)}
    return order, np.array([at[full[lab]] for lab in labels], dtype=np.intp)


def _tags(economy: Economy, regions: tuple[str, ...], r_of: NDArray[np.intp], conc: Concordance) -> dict[str, Any]:
    domestic = np.zeros(len(regions), dtype=bool)
    coalition, friendly = domestic.copy(), domestic.copy()
    country: list[str] = []
    for t, target in enumerate(regions):
        src = np.flatnonzero(r_of == t)
        dom = economy.domestic[src]
        if dom.any() and not dom.all():
            inside = [economy.regions[i] for i in src[dom]]
            outside = [economy.regions[i] for i in src[~dom]]
            raise EconomyError(
                f"concordance {conc.path!r}: region {target!r} merges domestic {inside} with "
                f"foreign {outside}; keep domestic and foreign regions apart"
            )
        domestic[t] = dom.all()
        coalition[t] = economy.coalition[src].all()
        friendly[t] = economy.friendly[src].all()
        countries = {economy.country[i] for i in src}
        country.append(countries.pop() if len(countries) == 1 else target)
    return {"domestic": domestic, "coalition": coalition, "friendly": friendly, "country": tuple(country)}


def _read_csv(path: Path) -> dict[str, dict[str, str]]:
    name = str(path)
    tables: dict[str, dict[str, str]] = {}
    line_of: dict[tuple[str, str], int] = {}
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            rows = list(csv.reader(handle))
    except (OSError, UnicodeDecodeError, csv.Error) as err:
        raise EconomyError(f"cannot read concordance {name!r}: {err}") from err
    lines = [(k + 1, row) for k, row in enumerate(rows) if any(c.strip() for c in row)]
    lines = [(k, row) for k, row in lines if not row[0].lstrip().startswith("#")]
    if not lines or [c.strip().lower() for c in lines[0][1]] != ["kind", "source", "target"]:
        raise EconomyError(f"concordance {name!r}: the first line must be the header kind,source,target")
    for k, row in lines[1:]:
        if len(row) != 3:
            raise EconomyError(f"concordance {name!r}, line {k}: expected kind,source,target, got {row}")
        kind, source, target = (c.strip() for c in row)
        dim = _PLURAL.get(kind.lower(), kind.lower())
        if dim not in _DIMENSIONS:
            raise EconomyError(f"concordance {name!r}, line {k}: kind {kind!r} is not region, sector or category")
        if not source:
            raise EconomyError(f"concordance {name!r}, line {k}: empty source label")
        if not target:
            raise EconomyError(f"concordance {name!r}, line {k}: {kind} {source!r} maps to an empty target")
        table = tables.setdefault(dim, {})
        if source in table and table[source] != target:
            raise EconomyError(
                f"concordance {name!r}, line {k}: {_SINGULAR[dim]} {source!r} "
                f"is mapped to {table[source]!r} (line {line_of[(dim, source)]}) and to {target!r}"
            )
        table[source] = target
        line_of.setdefault((dim, source), k)
    return tables


def _read_toml(path: Path) -> tuple[dict[str, dict[str, str]], bool]:
    name = str(path)
    try:
        with path.open("rb") as handle:
            raw = tomllib.load(handle)
    except OSError as err:
        raise EconomyError(f"cannot read concordance {name!r}: {err}") from err
    except tomllib.TOMLDecodeError as err:
        hint = ""
        at = re.search(r"line (\d+)", str(err))
        if at and "overwrite" in str(err):
            text = path.read_text(encoding="utf-8").splitlines()[int(at.group(1)) - 1].strip()
            hint = f"; the label in {text!r} is listed twice (a source maps to one target)"
        raise EconomyError(f"concordance {name!r} is not valid TOML: {err}{hint}") from err
    unknown = sorted(set(raw) - {*_DIMENSIONS, "keep_unlisted"})
    if unknown:
        raise EconomyError(f"concordance {name!r}: unknown keys {unknown}; allowed: {[*_DIMENSIONS, 'keep_unlisted']}")
    keep = raw.get("keep_unlisted", False)
    if not isinstance(keep, bool):
        raise EconomyError(f"concordance {name!r}: keep_unlisted must be true or false, not {keep!r}")
    tables: dict[str, dict[str, str]] = {}
    for dim in _DIMENSIONS:
        if dim not in raw:
            continue
        table = raw[dim]
        if not isinstance(table, dict):
            raise EconomyError(f'concordance {name!r}: {dim} must be a table [{dim}] of source = "target"')
        for source, target in table.items():
            if isinstance(target, dict):  # a bare key with a dot, C10.1 = "x", makes a nested table
                inner = next(iter(target), "")
                raise EconomyError(
                    f"concordance {name!r}: [{dim}] {source!r} maps to {target!r}, not a label; "
                    f'quote labels that hold dots: "{source}.{inner}" = ...'
                )
            if not isinstance(target, str):
                raise EconomyError(
                    f"concordance {name!r}: [{dim}] {source!r} maps to {target!r}, not a label; "
                    f'write {source} = "target"'
                )
        tables[dim] = dict(table)
    return tables, keep


def _few(labels: list[str], limit: int = 12) -> str:
    shown = ", ".join(repr(lab) for lab in labels[:limit])
    return f"[{shown}{', ...' if len(labels) > limit else ''}] ({len(labels)})" if len(labels) > limit else f"[{shown}]"
