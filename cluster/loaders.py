"""Load real input-output tables into an ``Economy``: pymrio folders, the usual databases, plain matrices.

Kinds (``load_table(path, kind)``; ``KINDS`` lists them with a line each):

``economy``
    One Parquet file written by ``Economy.to_parquet``.
``pymrio``
    A folder (or zip archive) written by ``pymrio.IOSystem.save_all`` in txt or parquet format. Only the
    core accounts are read (``Z``, ``Y``, ``unit``; ``A`` and ``x`` when ``Z`` is missing): extensions are
    skipped.
``exiobase1`` ... ``gloria``
    A downloaded database, read by pymrio's parser of that name (``pymrio.parse_oecd`` for ``oecd`` ...).
    Parser options pass through (``year=2018``); unknown options are refused, listing the accepted ones.
``matrices``
    The plain-matrix format below.

pymrio is optional: the ``pymrio`` and database kinds import it on use and say how to install it.

Plain-matrix format
-------------------
Two tables, ``Z`` and ``Y``, each a CSV file (comma, semicolon or tab separated, UTF-8, one header line)
or a Parquet file. Give a folder holding ``Z.csv`` and ``Y.csv`` (or ``Z.parquet`` and ``Y.parquet``),
or the ``Z`` file itself (``Y`` then defaults to ``Y`` with the same suffix beside it; ``y=`` names
another file). Annual flows, one money unit (``unit=``, default ``"money"``)::

    Z.csv                                       Y.csv
    region,sector,RUS/energy,RUS/metals,...     region,sector,RUS,CHN,...
    RUS,energy,12.5,3.0,...                     RUS,energy,40.0,2.5,...
    RUS,metals,0.7,8.1,...                      RUS,metals,11.0,1.0,...

* Both tables have two label columns named ``region`` and ``sector`` (any case, anywhere; a pandas
  frame indexed by (region, sector) writes them so). Every other column holds numbers.
* ``Z`` value columns are headed ``<region>/<sector>``: the industry that buys. Rows and columns list
  the same industries, each once, in any order; every region has every sector (write zeros).
* ``Y`` rows list the same industries as ``Z``. Its columns are headed ``<region>`` (one final-demand
  category, called ``final demand``) or ``<region>/<category>`` (every region with every category).
* The region is the part of a header before its first ``/``: region labels cannot contain ``/``
  (sectors and categories can). Labels are stripped of surrounding blanks.
* Industries are ordered region-major by first appearance in ``Z``'s rows.
* Refused, naming the file and the cell or label: an empty label cell, a label given twice, a missing
  industry, ``Y`` labels that do not match ``Z``, a cell that is not a number, an empty, NaN or infinite
  cell (write 0 for no flow); and, naming the industry, whatever ``Economy.check`` refuses (negative
  flows, inputs without output, negative value added).

``write_matrices`` writes an ``Economy`` in this format (one category is written as bare region headers).

Region tags: ``domestic=`` names the scenario's own regions; an unknown name is refused, listing the
table's regions. Without it an ``economy`` file keeps its tags and other kinds have no domestic region.
"""

from __future__ import annotations

import csv
import inspect
import json
import math
import zipfile
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from cluster.economy import Economy, one_line, plain_label
from cluster.errors import EconomyError

__all__ = [
    "DATABASES",
    "KINDS",
    "detect_kind",
    "from_iosystem",
    "load_matrices",
    "load_pymrio",
    "load_table",
    "parse_database",
    "region_flags",
    "write_matrices",
]

F64 = NDArray[np.float64]
Label = tuple[str, str]

#: Database kind -> (pymrio parser, description).
DATABASES: dict[str, tuple[str, str]] = {
    "exiobase1": ("parse_exiobase1", "EXIOBASE 1 download (pymrio.parse_exiobase1)"),
    "exiobase2": ("parse_exiobase2", "EXIOBASE 2 download (pymrio.parse_exiobase2)"),
    "exiobase3": ("parse_exiobase3", "EXIOBASE 3 zip archive or folder (pymrio.parse_exiobase3)"),
    "oecd": ("parse_oecd", "OECD ICIO download (pymrio.parse_oecd; option year=)"),
    "wiod": ("parse_wiod", "WIOD 2013 release (pymrio.parse_wiod; option year=)"),
    "eora26": ("parse_eora26", "Eora26 download (pymrio.parse_eora26; options year=, price=)"),
    "gloria": ("parse_gloria", "GLORIA download (pymrio.parse_gloria; options year=, version=)"),
}

#: Every kind ``load_table`` knows, name -> one-line description.
KINDS: dict[str, str] = {
    "auto": "guess from the path: economy file, pymrio folder or plain matrices",
    "economy": "one Parquet file written by Economy.to_parquet",
    "pymrio": "a folder or zip written by pymrio's save_all (txt or parquet)",
    "matrices": "plain Z and Y tables as CSV or Parquet (see cluster.loaders)",
    **{kind: desc for kind, (_, desc) in DATABASES.items()},
}

_FORMATS = (".parquet", ".csv")
_ONE_CATEGORY = "final demand"


def load_table(
    path: str | Path,
    kind: str = "auto",
    *,
    id: str | None = None,
    domestic: Collection[str] | None = None,
    **options: Any,
) -> Economy:
    """Load a table of any kind in ``KINDS``; ``EconomyError`` naming the path, kind or option at fault.

    ``options`` go to the loader: ``y`` and ``unit`` for ``matrices``, the parser's own keywords for a
    database; the other kinds take none.
    """
    if kind not in KINDS:
        raise EconomyError(f"unknown table kind {kind!r}; known kinds are {sorted(KINDS)}")
    path = _existing(path)
    if kind == "auto":
        kind = detect_kind(path)
    if kind in DATABASES:
        return parse_database(kind, path, id=id, domestic=domestic, **options)
    accepted = {"matrices": ("y", "unit")}.get(kind, ())
    unknown = sorted(set(options) - set(accepted))
    if unknown:
        raise EconomyError(f"table kind {kind!r} takes no option {unknown}; it accepts {list(accepted)}")
    if kind == "matrices":
        return load_matrices(path, id=id, domestic=domestic, **options)
    if kind == "pymrio":
        return load_pymrio(path, id=id, domestic=domestic)
    economy = Economy.read_parquet(path)
    if id is not None:
        economy = replace(economy, id=id)
    if domestic is not None:
        economy = replace(economy, domestic=region_flags(economy.regions, domestic, repr(str(path))))
    return economy


def detect_kind(path: str | Path) -> str:
    """The kind of a local table (``economy``, ``pymrio`` or ``matrices``); databases must be named."""
    path = _existing(path)
    if path.is_dir():
        if (path / "file_parameters.json").is_file():
            return "pymrio"
        if any((path / f"Z{suffix}").is_file() for suffix in _FORMATS):
            return "matrices"
    elif path.suffix.lower() == ".parquet":
        return "economy" if _is_economy_file(path) else "matrices"
    elif path.suffix.lower() == ".csv":
        return "matrices"
    elif zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            if any(Path(name).name == "file_parameters.json" for name in archive.namelist()):
                return "pymrio"
    raise EconomyError(
        f"cannot tell what {str(path)!r} holds (no economy Parquet file, pymrio folder with "
        "file_parameters.json, or folder with Z.csv/Z.parquet); name its kind, one of "
        f"{sorted(set(KINDS) - {'auto'})}"
    )


# --- pymrio and the databases ------------------------------------------------------------------------


def load_pymrio(path: str | Path, *, id: str | None = None, domestic: Collection[str] | None = None) -> Economy:
    """A folder or zip archive written by ``pymrio.IOSystem.save_all`` (txt or parquet tables)."""
    pymrio = _pymrio("a pymrio folder")
    path = _existing(path)
    if path.is_dir() and not (path / "file_parameters.json").is_file():
        raise EconomyError(
            f"{str(path)!r} is not a pymrio save_all folder: it has no file_parameters.json "
            "(plain Z and Y tables load with kind 'matrices')"
        )
    try:
        io = pymrio.load_all(path, subfolders=[], subset=["Z", "Y", "unit"])
        if io.Z is None:  # saved as A and x (or A and Y): pymrio derives Z
            io = pymrio.load_all(path, subfolders=[], subset=["A", "x", "Y", "unit"])
            io.calc_system()
    except Exception as err:
        # pymrio reports a bad folder with its own ReadError or whatever pandas, json or zipfile raised.
        raise EconomyError(one_line(f"cannot read pymrio folder {str(path)!r}: {type(err).__name__}: {err}")) from err
    return from_iosystem(
        io,
        id=id or path.stem,
        domestic=domestic,
        where=f"pymrio folder {str(path)!r}",
        source="pymrio",
        provenance={"loader": "pymrio", "path": str(path)},
    )


def parse_database(
    kind: str,
    path: str | Path,
    *,
    id: str | None = None,
    domestic: Collection[str] | None = None,
    **options: Any,
) -> Economy:
    """A downloaded database read by pymrio's parser for ``kind`` (a key of ``DATABASES``)."""
    if kind not in DATABASES:
        raise EconomyError(f"unknown database kind {kind!r}; known databases are {sorted(DATABASES)}")
    name = DATABASES[kind][0]
    pymrio = _pymrio(f"database kind {kind!r}")
    path = _existing(path)
    parser: Callable[..., Any] | None = getattr(pymrio, name, None)
    if parser is None:
        raise EconomyError(
            f"database kind {kind!r} needs pymrio.{name}, which pymrio {pymrio.__version__} lacks: "
            "pip install --upgrade pymrio"
        )
    accepted = [p for p in inspect.signature(parser).parameters if p != "path"]
    unknown = sorted(set(options) - set(accepted))
    if unknown:
        raise EconomyError(f"database kind {kind!r} takes no option {unknown}; pymrio.{name} accepts {accepted}")
    where = f"{kind} table {str(path)!r}"
    try:
        io = parser(path, **options)
        if io.Z is None:
            io.calc_system()
    except Exception as err:
        # A third-party parser on a user's download fails in many ways (zip, csv, key, index errors);
        # every one of them is a bad or unexpected file, reported with the path and the original error.
        raise EconomyError(one_line(f"cannot parse {where} with pymrio.{name}: {type(err).__name__}: {err}")) from err
    provenance = {"loader": kind, "path": str(path), "options": {k: str(v) for k, v in options.items()}}
    return from_iosystem(
        io, id=id or f"{kind}-{path.stem}", domestic=domestic, where=where, source=kind, provenance=provenance
    )


def from_iosystem(
    io: Any,
    *,
    id: str = "pymrio",
    domestic: Collection[str] | None = None,
    where: str = "pymrio system",
    source: str = "pymrio",
    provenance: dict[str, Any] | None = None,
) -> Economy:
    """A ``pymrio.IOSystem`` with ``Z`` and ``Y`` set, checked label by label (``where`` names it in errors)."""
    if io.Z is None or io.Y is None:
        raise EconomyError(f"{where} has no Z or Y; a full system needs both (or A and x, or A and Y)")
    z = _frame_block(io.Z, f"{where} (Z)")
    y = _frame_block(io.Y, f"{where} (Y)")
    unit = ""
    if getattr(io, "unit", None) is not None and io.unit.size:
        unit = str(io.unit.iloc[0, 0])
    return _build(
        z,
        y,
        id=id,
        domestic=domestic,
        where=where,
        unit=unit,
        source=source,
        provenance=provenance or {"loader": "pymrio"},
    )


def _pymrio(what: str) -> Any:
    try:
        import pymrio
    except ImportError as err:
        raise EconomyError(f"{what} needs pymrio: pip install pymrio") from err
    return pymrio


def _frame_block(frame: Any, where: str) -> _Block:
    import pandas as pd

    rows = _index_labels(frame.index, where, "row")
    cols = _index_labels(frame.columns, where, "column")
    _check_labels(where, rows, cols)
    try:
        values = frame.to_numpy(dtype=np.float64)
    except (ValueError, TypeError) as err:
        for j in range(frame.shape[1]):
            raw = frame.iloc[:, j]
            bad = pd.to_numeric(raw, errors="coerce").isna() & raw.notna()
            if bad.any():
                i = int(np.flatnonzero(bad.to_numpy())[0])
                raise EconomyError(
                    f"{where}: cell (row {_show(rows[i])}, column {_show(cols[j])}) is not a number: {raw.iloc[i]!r}"
                ) from None
        raise EconomyError(one_line(f"{where}: values are not all numbers: {err}")) from err
    return _Block(where, rows, cols, values)


def _index_labels(index: Any, where: str, what: str) -> list[Label]:
    if index.nlevels != 2:
        raise EconomyError(f"{where}: {what} labels have {index.nlevels} levels, expected 2 (region, sector)")
    labels: list[Label] = []
    for k, pair in enumerate(index):
        clean = tuple(_clean_label(v) for v in pair)
        for level, value in enumerate(clean):
            if value is None:
                raise EconomyError(f"{where}: {what} {k + 1} has an empty or NaN label at level {level + 1} ({pair})")
        labels.append((str(clean[0]), str(clean[1])))
    return labels


def _check_labels(where: str, rows: Sequence[Label], cols: Sequence[Label]) -> None:
    """Refuse a label with a line break or another control character, naming the first."""
    for what, labels in (("row", rows), ("value column", cols)):
        for k, label in enumerate(labels):
            if not all(plain_label(part) for part in label):
                raise EconomyError(
                    f"{where}: {what} {k + 1} has a label with a line break or control character ({label!r}); "
                    "labels are plain text"
                )


def _clean_label(value: object) -> str | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    text = str(value).strip()
    return text or None


# --- plain matrices ------------------------------------------------------------------------------------


def load_matrices(
    path: str | Path,
    *,
    y: str | Path | None = None,
    id: str | None = None,
    domestic: Collection[str] | None = None,
    unit: str = "money",
) -> Economy:
    """Plain ``Z`` and ``Y`` tables (module docstring): a folder holding both, or the ``Z`` file."""
    path = _existing(path)
    if path.is_dir():
        found = [path / f"Z{suffix}" for suffix in _FORMATS if (path / f"Z{suffix}").is_file()]
        if len(found) != 1:
            raise EconomyError(
                f"folder {str(path)!r} must hold exactly one of Z.parquet and Z.csv (found {[f.name for f in found]})"
            )
        z_path, folder = found[0], path
    else:
        z_path, folder = path, path.parent
    y_path = _existing(y) if y is not None else _existing(z_path.with_name(f"Y{z_path.suffix}"))
    z = _read_block(z_path)
    yb = _read_block(y_path)
    where = repr(str(folder)) if path.is_dir() else f"{str(z_path)!r} with {str(y_path)!r}"
    return _build(
        z,
        yb,
        id=id or folder.name or "matrices",
        domestic=domestic,
        where=f"table {where}",
        unit=unit,
        source="matrices",
        provenance={"loader": "matrices", "z": str(z_path), "y": str(y_path)},
    )


def write_matrices(economy: Economy, folder: str | Path, *, fmt: Literal["csv", "parquet"] = "parquet") -> None:
    """Write ``Z`` and ``Y`` of ``economy`` in the plain-matrix format into ``folder`` (created if needed)."""
    import pyarrow as pa
    import pyarrow.csv as pcsv
    import pyarrow.parquet as pq

    if fmt not in ("csv", "parquet"):
        raise EconomyError(f"plain matrices are written as 'csv' or 'parquet', not {fmt!r}")
    slashed = [reg for reg in economy.regions if "/" in reg]
    if slashed:
        raise EconomyError(
            f"economy {economy.id!r}: region labels {slashed} contain '/', which the plain "
            "format uses between region and sector; rename them"
        )
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    s = len(economy.sectors)
    labels = [
        pa.array([economy.regions[i // s] for i in range(economy.n)], pa.string()),
        pa.array([economy.sectors[i % s] for i in range(economy.n)], pa.string()),
    ]
    z_heads = [f"{reg}/{sec}" for reg in economy.regions for sec in economy.sectors]
    if economy.fd_categories == (_ONE_CATEGORY,):
        y_heads = list(economy.regions)
    else:
        y_heads = [f"{reg}/{cat}" for reg in economy.regions for cat in economy.fd_categories]
    for name, values, heads in (("Z", economy.z, z_heads), ("Y", economy.y, y_heads)):
        table = pa.Table.from_arrays(
            [*labels, *(pa.array(values[:, j]) for j in range(values.shape[1]))], names=["region", "sector", *heads]
        )
        if fmt == "csv":
            pcsv.write_csv(table, folder / f"{name}.csv")
        else:
            pq.write_table(table, folder / f"{name}.parquet")


def _read_block(path: Path) -> _Block:
    """One plain table: label columns, value-column headers and the values as a float array."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pcsv
    import pyarrow.parquet as pq

    where = repr(str(path))
    suffix = path.suffix.lower()
    if suffix not in _FORMATS:
        raise EconomyError(f"{where}: plain tables are .csv or .parquet files, not {path.suffix or 'no suffix'!r}")
    try:
        if suffix == ".parquet":  # not read_table: it refuses repeated column names, which are checked below
            with pq.ParquetFile(path) as handle:
                table = handle.read()
        else:
            delimiter, head = _csv_header(path)
            text = [name for name in head if name.strip().lower() in ("region", "sector")]
            table = pcsv.read_csv(
                path,
                parse_options=pcsv.ParseOptions(delimiter=delimiter),
                convert_options=pcsv.ConvertOptions(column_types=dict.fromkeys(text, pa.string())),
            )
        names = [name.strip().lstrip("\ufeff").strip() for name in table.column_names]
    except (OSError, pa.ArrowException, UnicodeDecodeError) as err:  # a damaged file: names that are not UTF-8
        raise EconomyError(one_line(f"cannot read {where}: {err}")) from err
    label_at: dict[str, int] = {}
    for j, name in enumerate(names):
        key = name.lower()
        if key in ("region", "sector"):
            if key in label_at:
                raise EconomyError(f"{where}: two {key!r} label columns (columns {label_at[key] + 1} and {j + 1})")
            label_at[key] = j
    if set(label_at) != {"region", "sector"}:
        raise EconomyError(f"{where}: needs label columns 'region' and 'sector'; its columns start {names[:5]}")
    pairs = []
    for key in ("region", "sector"):
        column = table.column(label_at[key])
        if not pa.types.is_string(column.type):
            column = pc.cast(column, pa.string())
        pairs.append(column.to_pylist())
    rows: list[Label] = []
    for k, (reg, sec) in enumerate(zip(*pairs, strict=True)):
        clean_reg, clean_sec = _clean_label(reg), _clean_label(sec)
        if clean_reg is None or clean_sec is None:
            which = "region" if clean_reg is None else "sector"
            raise EconomyError(
                f"{where}: data row {k + 1} has an empty {which} label ({reg!r}, {sec!r}); "
                "every row needs a region and a sector"
            )
        rows.append((clean_reg, clean_sec))
    # Every other column holds values, but for an unnamed pandas index that to_parquet may have kept.
    value_at = [
        j for j in range(len(names)) if j not in label_at.values() and not names[j].startswith("__index_level_")
    ]
    cols: list[Label] = []
    for j in value_at:
        head = names[j]
        if not head:
            raise EconomyError(f"{where}: column {j + 1} has no header; value columns are headed region/sector")
        reg, slash, rest = head.partition("/")
        cols.append((reg.strip(), rest.strip() if slash else ""))
    _check_labels(where, rows, cols)
    values = np.empty((len(rows), len(value_at)), dtype=np.float64, order="F")
    for k, j in enumerate(value_at):
        values[:, k] = _numeric_column(table.column(j), where, names[j], rows)
    return _Block(where, rows, cols, values)


def _numeric_column(column: Any, where: str, head: str, rows: Sequence[Label]) -> F64:
    import pyarrow as pa
    import pyarrow.compute as pc

    kind = column.type
    if not (
        pa.types.is_integer(kind)
        or pa.types.is_floating(kind)
        or pa.types.is_decimal(kind)
        or pa.types.is_null(kind)
        or pa.types.is_string(kind)
        or pa.types.is_large_string(kind)
    ):
        raise EconomyError(f"{where}: column {head!r} holds {kind} values, not numbers")
    try:
        numbers = pc.cast(column, pa.float64())
    except pa.ArrowInvalid as err:
        for i, value in enumerate(column.to_pylist()):
            try:
                float(value) if value is not None else None
            except ValueError:
                raise EconomyError(
                    f"{where}: cell (row {_show(rows[i])}, column {head}) is not a number: {value!r}"
                ) from None
        raise EconomyError(one_line(f"{where}: column {head!r} is not all numbers: {err}")) from err
    return numbers.to_numpy(zero_copy_only=False)  # type: ignore[no-any-return]


def _csv_header(path: Path) -> tuple[str, list[str]]:
    """The delimiter (comma, semicolon or tab, whichever the header line has first) and the header cells."""
    with path.open(encoding="utf-8-sig", errors="replace", newline="") as handle:
        first = handle.readline()
    delimiter = next((d for d in (",", ";", "\t") if d in first), ",")
    return delimiter, next(csv.reader([first], delimiter=delimiter), [])


# --- shared: labels, order and checks -------------------------------------------------------------------


@dataclass(frozen=True)
class _Block:
    """One table as read: where it came from, row and column labels (file order) and values."""

    where: str
    rows: list[Label]
    cols: list[Label]
    values: F64


def _build(
    z: _Block,
    y: _Block,
    *,
    id: str,
    domestic: Collection[str] | None,
    where: str,
    unit: str,
    source: str,
    provenance: dict[str, Any],
) -> Economy:
    """Check labels and values of both tables, order them region-major and make the ``Economy``."""
    _check_cells(z, nonnegative=True)
    _check_cells(y, nonnegative=False)  # negative final demand is fine: changes in inventories
    regions, sectors, industry = _industries(z)
    n = len(industry)
    z_rows = _positions(
        z.rows, industry, z.where, "row", against="", fix="every region needs every sector; write zeros"
    )
    z_cols = _positions(
        z.cols,
        industry,
        z.where,
        "column",
        against="the industries of Z's rows",
        fix="Z needs a column for each of its rows",
    )
    y_rows = _positions(
        y.rows, industry, y.where, "row", against="the rows of Z", fix="Y needs a row for each row of Z"
    )
    categories, y_cols = _fd_columns(y, regions)
    z_full = _reorder(z.values, z_rows, z_cols, n, n)
    y_full = _reorder(y.values, y_rows, y_cols, n, len(regions) * len(categories))
    flags = region_flags(regions, domestic or (), where)
    try:
        return Economy(
            id=id,
            regions=regions,
            sectors=sectors,
            z=z_full,
            y=y_full,
            fd_categories=categories,
            domestic=flags,
            unit=unit,
            source=source,
            provenance=provenance,
        )
    except EconomyError as err:
        raise EconomyError(f"{where}: {err}") from err


def _check_cells(block: _Block, *, nonnegative: bool) -> None:
    """Refuse empty, NaN and infinite cells (and negative ones if ``nonnegative``), naming the first."""
    for bad, what in ((~np.isfinite(block.values), "empty, NaN or infinite"), (block.values < 0, "negative")):
        if bad.any():
            i, j = (int(v) for v in np.argwhere(bad)[0])
            fix = "write 0 for no flow" if what != "negative" else "intermediate flows cannot be negative"
            raise EconomyError(
                f"{block.where}: cell (row {_show(block.rows[i])}, column {_show(block.cols[j])}) "
                f"is {what} ({block.values[i, j]}); {fix}"
            )
        if not nonnegative:
            break


def _industries(z: _Block) -> tuple[tuple[str, ...], tuple[str, ...], dict[Label, int]]:
    """Regions and sectors by first appearance in Z's rows, and the region-major index of each industry."""
    regions = tuple(dict.fromkeys(reg for reg, _ in z.rows))
    sectors = tuple(dict.fromkeys(sec for _, sec in z.rows))
    slashed = [reg for reg in regions if "/" in reg]
    if slashed:
        raise EconomyError(
            f"{z.where}: region labels {slashed} contain '/', which separates region from sector "
            "in headers; rename them"
        )
    at_region = {reg: i for i, reg in enumerate(regions)}
    at_sector = {sec: i for i, sec in enumerate(sectors)}
    industry = {(reg, sec): at_region[reg] * len(sectors) + at_sector[sec] for reg in regions for sec in sectors}
    return regions, sectors, industry


def _positions(
    labels: list[Label], index: dict[Label, int], where: str, what: str, *, against: str, fix: str
) -> list[int]:
    """Region-major position of each row or column; refuses unknown, repeated and missing labels."""
    first: dict[Label, int] = {}
    out = []
    for k, label in enumerate(labels):
        if label not in index:
            if what == "column" and not label[1]:
                raise EconomyError(f"{where}: column header {label[0]!r} is not region/sector")
            raise EconomyError(f"{where}: {what} {_show(label)} is not one of {against}")
        if label in first:
            numbers = f"{'data rows' if what == 'row' else 'value columns'} {first[label] + 1} and {k + 1}"
            raise EconomyError(f"{where}: duplicated {what} label {_show(label)} ({numbers})")
        first[label] = k
        out.append(index[label])
    if len(first) < len(index):
        missing = [_show(label) for label in index if label not in first]
        raise EconomyError(f"{where}: no {what} for {missing[:5]}{' ...' if len(missing) > 5 else ''} ({fix})")
    return out


def _fd_columns(y: _Block, regions: tuple[str, ...]) -> tuple[tuple[str, ...], list[int]]:
    """Final-demand categories and the region-major position of each Y column."""
    bare = [not cat for _, cat in y.cols]
    if any(bare) and not all(bare):
        k = bare.index(not bare[0])
        raise EconomyError(
            f"{y.where}: column headers mix <region> and <region>/<category> "
            f"(column {_show(y.cols[0])} and column {_show(y.cols[k])}); use one form"
        )
    cols = [(reg, _ONE_CATEGORY) for reg, _ in y.cols] if all(bare) else y.cols
    for reg, _ in cols:
        if reg not in regions:
            raise EconomyError(
                f"{y.where}: final-demand column region {reg!r} is not a region of Z; Z's regions are {list(regions)}"
            )
    categories = tuple(dict.fromkeys(cat for _, cat in cols))
    at_category = {cat: i for i, cat in enumerate(categories)}
    index = {(reg, cat): i * len(categories) + at_category[cat] for i, reg in enumerate(regions) for cat in categories}
    positions = _positions(
        cols, index, y.where, "column", against="", fix="every region needs every category; write zeros"
    )
    return categories, positions


def _reorder(values: F64, rows: list[int], cols: list[int], n_rows: int, n_cols: int) -> F64:
    """``values`` placed at region-major positions (a no-op when the file is in that order already)."""
    r, c = np.asarray(rows), np.asarray(cols)
    if np.array_equal(r, np.arange(n_rows)) and np.array_equal(c, np.arange(n_cols)):
        return np.ascontiguousarray(values)
    inv_r, inv_c = np.empty(n_rows, dtype=np.intp), np.empty(n_cols, dtype=np.intp)
    inv_r[r], inv_c[c] = np.arange(n_rows), np.arange(n_cols)
    return np.ascontiguousarray(values[np.ix_(inv_r, inv_c)])


def region_flags(regions: Sequence[str], names: Collection[str], where: str) -> NDArray[np.bool_]:
    """One flag per region: whether it is among ``names``; ``EconomyError`` naming unknown regions."""
    names = (names,) if isinstance(names, str) else tuple(names)
    unknown = sorted(set(names) - set(regions))
    if unknown:
        raise EconomyError(f"{where}: domestic regions {unknown} are not in the table; its regions are {list(regions)}")
    return np.array([reg in names for reg in regions], dtype=bool)


def _show(label: Label) -> str:
    return f"{label[0]}/{label[1]}" if label[1] else label[0]


def _existing(path: str | Path) -> Path:
    path = Path(path)
    if not path.exists():
        raise EconomyError(f"no such file or folder: {str(path)!r}; check the path")
    return path


def _is_economy_file(path: Path) -> bool:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        raw = (pq.read_schema(path).metadata or {}).get(b"shock")
    except (OSError, pa.ArrowException, UnicodeDecodeError) as err:  # a damaged file: names that are not UTF-8
        raise EconomyError(one_line(f"cannot read Parquet file {str(path)!r}: {err}")) from err
    if raw is None:
        return False
    try:
        return isinstance(json.loads(raw), dict)
    except ValueError:
        return False
