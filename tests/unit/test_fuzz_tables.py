"""Fuzzing the economy tables: ``shock economy show`` on garbage files, truncated Parquet, plain Z/Y matrices with
wrong shapes, bad cells and bad labels, and economy files with broken metadata. Every case ends in exit 0, or exit 2
with one ``error: ...`` line on stderr naming the file; never a traceback.

Hypothesis runs derandomized, without an example database (the same cases in CI every time);
``SHOCK_FUZZ_EXAMPLES`` raises the number of cases for a local exploration.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import io
import json
import math
import os
import traceback
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner, Result
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from cluster.cli import cli
from cluster.economy import Economy, format_economy, synthetic
from cluster.errors import EconomyError
from cluster.loaders import KINDS, load_table, write_matrices

EXAMPLES = int(os.environ.get("SHOCK_FUZZ_EXAMPLES", "400"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=dt.timedelta(seconds=10),  # a tiny table loads in milliseconds (a pymrio parser in a second)
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture],
)
#: A tiny economy (2 regions x 2 sectors, one domestic): the starting point of every table.
BASE = synthetic(2, 2, n_domestic=1)
#: The kinds that read a local file without pymrio (the database kinds are pymrio's parsers, which the loaders
#: wrap whole); a few cases go through them too.
LOCAL_KINDS = ["auto", "economy", "matrices", "pymrio"]


def _grid(economy: Economy, name: str) -> list[list[str]]:
    """Table ``name`` (Z or Y) of ``economy`` as written in the plain-matrix format: header, then rows of text."""
    s = len(economy.sectors)
    labels = [[economy.regions[i // s], economy.sectors[i % s]] for i in range(economy.n)]
    if name == "Z":
        heads = [f"{r}/{k}" for r in economy.regions for k in economy.sectors]
        values = economy.z
    else:
        heads = list(economy.regions)
        values = economy.y
    rows = [[*labels[i], *(repr(float(v)) for v in values[i])] for i in range(economy.n)]
    return [["region", "sector", *heads], *rows]


CELLS = [
    "abc", "", " ", "nan", "NaN", "inf", "-inf", "-1", "-0", "0", "1e400", "-1e400", "1e-400", "0x10", " 5 ",
    "1,5", "true", '"', "\n", "R00", "R01", "S00", "S01", "R00/S00", "R02", "a/b", "region", "sector",
    "1" * 400, "\x00", "é", "\ufeff", "9" * 30,
]  # fmt: skip


@st.composite
def grid_mutation(draw: st.DrawFn, grid: list[list[str]]) -> str:
    """Change a table's text cells in place once; returns what was done."""
    how = draw(st.sampled_from(["cell", "cell", "drop_row", "drop_col", "dup_row", "dup_col", "swap", "empty"]))
    n_rows, n_cols = len(grid), max(len(r) for r in grid) if grid else 0
    if not grid or n_cols == 0:
        grid.append(["region", "sector"])
        return "header"
    i, j = draw(st.integers(0, n_rows - 1)), draw(st.integers(0, n_cols - 1))
    if how == "cell":
        value = draw(st.one_of(st.sampled_from(CELLS), st.text(max_size=6), st.floats().map(repr)))
        row = grid[i]
        if j < len(row):
            row[j] = value
        return f"cell ({i}, {j}) = {value!r}"
    if how == "drop_row":
        del grid[i]
    elif how == "drop_col":
        for row in grid:
            if j < len(row):
                del row[j]
    elif how == "dup_row":
        grid.insert(i, list(grid[i]))
    elif how == "dup_col":
        for row in grid:
            if j < len(row):
                row.insert(j, row[j])
    elif how == "swap":
        k = draw(st.integers(0, n_rows - 1))
        grid[i], grid[k] = grid[k], grid[i]
    else:
        del grid[1:]
    return f"{how} {i} {j}"


def _write_csv(grid: list[list[str]], path: Path, delimiter: str) -> None:
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter).writerows(grid)
    path.write_text(out.getvalue(), encoding="utf-8")


def _write_parquet(grid: list[list[str]], path: Path, as_text: bool) -> None:
    """The grid as Parquet: value columns as floats where every cell is one (else text), labels as text."""
    head, rows = grid[0], grid[1:]
    names = [str(h) for h in head]  # Arrow tables may repeat names: the loader must refuse them
    arrays = []
    for j in range(len(head)):
        cells = [row[j] if j < len(row) else None for row in rows]
        array: pa.Array = pa.array(cells, pa.string())
        if not as_text and names[j].lower() not in ("region", "sector"):
            with contextlib.suppress(ValueError):  # a cell that is not a number: the column stays text
                array = pa.array([None if c is None else float(c) for c in cells], pa.float64())
        arrays.append(array)
    pq.write_table(pa.Table.from_arrays(arrays, names=names), path)


@st.composite
def matrices_case(draw: st.DrawFn, root: Path) -> tuple[str, Path, list[str]]:
    """A folder of plain Z and Y tables (CSV or Parquet) with one to three mutations; (description, path,
    extra arguments)."""
    grids = {"Z": _grid(BASE, "Z"), "Y": _grid(BASE, "Y")}
    done = []
    for _ in range(draw(st.integers(1, 3))):
        name = draw(st.sampled_from(["Z", "Y"]))
        done.append(f"{name}: {draw(grid_mutation(grids[name]))}")
    fmt = draw(st.sampled_from(["csv", "csv", "parquet", "parquet_text"]))
    delimiter = draw(st.sampled_from([",", ";", "\t"]))
    folder = root / "m"
    folder.mkdir()
    for name, grid in grids.items():
        path = folder / f"{name}.{'csv' if fmt == 'csv' else 'parquet'}"
        if not grid:
            path.write_bytes(b"")
        elif fmt == "csv":
            _write_csv(grid, path, delimiter)
        else:
            _write_parquet(grid, path, fmt == "parquet_text")
    how = draw(st.sampled_from(["folder", "z_file", "truncate", "no_y"]))
    z = next(folder.glob("Z.*"))
    if how == "truncate":
        victim = draw(st.sampled_from(sorted(folder.iterdir())))
        data = victim.read_bytes()
        victim.write_bytes(data[: draw(st.integers(0, len(data)))])
    elif how == "no_y":
        next(folder.glob("Y.*")).unlink()
    kind = draw(st.sampled_from(["auto", "matrices"]))
    target = z if how == "z_file" else folder
    return f"{fmt} {delimiter!r} {how}; {'; '.join(done)}", target, ["--kind", kind]


def _economy_file(path: Path) -> tuple[dict[str, Any], pa.Table]:
    BASE.to_parquet(path)
    table = pq.read_table(path)
    return json.loads(table.schema.metadata[b"shock"]), table


JSON_VALUES = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-3, 10**20),
        st.floats(allow_nan=False, allow_infinity=False),
        st.sampled_from(["R00", "R01", "S00", "S01", "", "final demand", "shock-economy/1", "R00/S00", "\n"]),
        st.text(max_size=5),
    ),
    lambda inner: st.one_of(st.lists(inner, max_size=5), st.dictionaries(st.text(max_size=4), inner, max_size=3)),
    max_leaves=6,
)


@st.composite
def economy_file_case(draw: st.DrawFn, root: Path) -> tuple[str, Path, list[str]]:
    """An economy Parquet file with broken metadata, flows or bytes; (description, path, extra arguments)."""
    path = root / "economy.parquet"
    info, table = _economy_file(path)
    how = draw(st.sampled_from(["meta_key", "meta_value", "meta_raw", "flows", "truncate", "flip", "columns"]))
    shown = how
    if how in ("meta_key", "meta_value"):
        key = draw(st.sampled_from(sorted(info)))
        if how == "meta_key":
            del info[key]
        else:
            info[key] = draw(JSON_VALUES)
        shown += f" {key}: {info.get(key, '(deleted)')!r}"
        table = table.replace_schema_metadata({b"shock": json.dumps(info).encode()})
        pq.write_table(table, path)
    elif how == "meta_raw":
        raw = draw(st.one_of(st.binary(max_size=30), st.sampled_from([b"{", b"[]", b"null", b"\xff\xfe", b"{}"])))
        shown += f" {raw!r}"
        pq.write_table(table.replace_schema_metadata({b"shock": raw}), path)
    elif how == "flows":
        k = draw(st.integers(0, table.num_rows - 1))
        column = draw(st.sampled_from(["row", "col", "value"]))
        value = draw(st.sampled_from([-1, 4, 6, 10**6, -(2**31), 2**31 - 1])) if column != "value" else None
        if column == "value":
            value = draw(st.sampled_from([math.nan, math.inf, -math.inf, -1.0, 1e308, 0.0, -1e-300]))
        cells = table.column(column).to_pylist()
        cells[k] = value
        kind = pa.float64() if column == "value" else pa.int32()
        table = table.set_column(table.schema.get_field_index(column), column, pa.array(cells, kind))
        shown += f" {column}[{k}] = {value!r}"
        pq.write_table(table, path)
    elif how == "columns":
        drop = draw(st.sampled_from(["row", "col", "value"]))
        shown += f" without {drop}"
        pq.write_table(table.drop_columns([drop]), path)
    else:
        data = path.read_bytes()
        at = draw(st.integers(0, len(data)))
        if how == "truncate":
            data = data[:at]
        else:
            junk = draw(st.binary(min_size=1, max_size=8))
            data = data[:at] + junk + data[at + len(junk) :]
        shown += f" at {at}"
        path.write_bytes(data)
    kind = draw(st.sampled_from(["auto", "economy"]))
    return shown, path, ["--kind", kind]


@st.composite
def garbage_case(draw: st.DrawFn, root: Path) -> tuple[str, Path, list[str]]:
    """Garbage bytes under a table's name, read as any kind."""
    suffix = draw(st.sampled_from([".parquet", ".csv", ".zip", ".txt", ""]))
    data = draw(st.one_of(st.binary(max_size=300), st.sampled_from([b"", b"PAR1", b"PAR1\x00\x00PAR1", b"PK\x05\x06"])))
    path = root / f"table{suffix}"
    path.write_bytes(data)
    kind = draw(st.sampled_from([*LOCAL_KINDS, *LOCAL_KINDS, *sorted(KINDS)]))
    return f"{len(data)} bytes {data[:40]!r} as {suffix or 'no suffix'} ({kind})", path, ["--kind", kind]


def check_outcome(res: Result, shown: str, where: Path) -> None:
    """Exit 0, or exit 2 with one ``error:`` line on stderr naming ``where``; nothing else."""
    if res.exit_code == 0:
        return
    detail = f"{shown}\nexit {res.exit_code}\nstderr: {res.stderr!r}\nexception: {res.exception!r}"
    if res.exc_info is not None and res.exit_code != 2:
        detail += "\n" + "".join(traceback.format_exception(*res.exc_info)[-6:])
    assert res.exit_code == 2, detail
    assert res.stderr.startswith("error: "), detail
    assert res.stderr.count("\n") == 1, detail
    assert res.stderr.endswith("\n"), detail
    assert str(where) in res.stderr, detail


def _show(case: tuple[str, Path, list[str]], root: Path, domestic: list[str]) -> Result:
    shown, path, extra = case
    args = ["economy", "show", str(path), *extra, *(a for d in domestic for a in ("--domestic", d))]
    note(f"{shown}: {args}")
    res = CliRunner().invoke(cli, args)
    check_outcome(res, f"{shown}\nshock {' '.join(args)}", root)
    return res


DOMESTIC = st.lists(st.sampled_from(["R00", "R01", "R02", ""]), max_size=2)


@FUZZ
@given(data=st.data(), domestic=DOMESTIC)
def test_fuzzed_matrices_show_or_fail_in_one_line(
    tmp_path_factory: pytest.TempPathFactory, data: Any, domestic: Any
) -> None:
    root = tmp_path_factory.mktemp("matrices")
    _show(data.draw(matrices_case(root)), root, domestic)


@FUZZ
@given(data=st.data(), domestic=DOMESTIC)
def test_fuzzed_economy_files_show_or_fail_in_one_line(
    tmp_path_factory: pytest.TempPathFactory, data: Any, domestic: Any
) -> None:
    root = tmp_path_factory.mktemp("economy")
    _show(data.draw(economy_file_case(root)), root, domestic)


@settings(FUZZ, max_examples=max(EXAMPLES // 2, 25))
@given(data=st.data())
def test_garbage_tables_fail_in_one_line(tmp_path_factory: pytest.TempPathFactory, data: Any) -> None:
    root = tmp_path_factory.mktemp("garbage")
    _show(data.draw(garbage_case(root)), root, [])


def test_the_starting_tables_are_valid(tmp_path: Path) -> None:
    """The fuzzer's starting points load: the plain matrices as CSV and Parquet, and the economy file."""
    grids = {"Z": _grid(BASE, "Z"), "Y": _grid(BASE, "Y")}
    for fmt in ("csv", "parquet"):
        folder = tmp_path / fmt
        folder.mkdir()
        for name, grid in grids.items():
            if fmt == "csv":
                _write_csv(grid, folder / f"{name}.csv", ",")
            else:
                _write_parquet(grid, folder / f"{name}.parquet", as_text=False)
        got = load_table(folder)
        np.testing.assert_allclose(got.z, BASE.z)
        np.testing.assert_allclose(got.y, BASE.y)
    _economy_file(tmp_path / "e.parquet")
    assert load_table(tmp_path / "e.parquet").regions == BASE.regions
    write_matrices(BASE, tmp_path / "w", fmt="csv")
    assert CliRunner().invoke(cli, ["economy", "show", str(tmp_path / "w")]).exit_code == 0


# --- regressions: one plain case per bug the fuzzer found ---------------------------------------------------
def _show_path(path: Path, *extra: str) -> Result:
    return CliRunner().invoke(cli, ["economy", "show", str(path), *extra])


def _refused(res: Result, where: Path, *needles: str) -> None:
    """Exit 2, one line naming ``where`` and holding every needle."""
    check_outcome(res, "", where)
    assert res.exit_code == 2, res.output
    for needle in needles:
        assert needle in res.stderr, res.stderr


def _with_metadata(path: Path, raw: bytes) -> Path:
    _, table = _economy_file(path)
    pq.write_table(table.replace_schema_metadata({b"shock": raw}), path)
    return path


@pytest.mark.parametrize("raw", [b"\xff\xfe", b"{", b'{"format": "shock-economy/1", "id": '])
def test_regression_economy_metadata_that_is_not_json(tmp_path: Path, raw: bytes) -> None:
    """UnicodeDecodeError / JSONDecodeError from the metadata (exit 1) before."""
    path = _with_metadata(tmp_path / "e.parquet", raw)
    _refused(_show_path(path, "--kind", "economy"), path, "metadata is not JSON")


#: Metadata values of the wrong type: TypeError or ValueError (exit 1) before. (key, value, needle)
BAD_METADATA = [
    ("country", None, "'country'"),
    ("provenance", [1, 2], "'provenance'"),
    ("regions", [[1, 2], [3]], "'regions'"),
    ("sectors", [{}, ["", "R00"]], "'sectors'"),
    ("domestic", [True, ["x"]], "'domestic'"),
    ("region_names", "R00", "'region_names'"),
    ("unit", ["a"], "'unit'"),
    ("regions", ["R\n00", "R01"], "'regions'"),
]


@pytest.mark.parametrize(("key", "value", "needle"), BAD_METADATA, ids=[f"{k}={v!r}" for k, v, _ in BAD_METADATA])
def test_regression_economy_metadata_of_the_wrong_type(tmp_path: Path, key: str, value: Any, needle: str) -> None:
    path = tmp_path / "e.parquet"
    info, _ = _economy_file(path)
    _with_metadata(path, json.dumps({**info, key: value}).encode())
    _refused(_show_path(path), path, needle)


@pytest.mark.parametrize(("key", "value"), [("coalition", [True]), ("sector_names", ["a", "b", "c"])])
def test_regression_economy_file_errors_name_the_file(tmp_path: Path, key: str, value: Any) -> None:
    """Economy.check's refusals of an economy file named the economy's id, not the file."""
    path = tmp_path / "e.parquet"
    info, _ = _economy_file(path)
    _with_metadata(path, json.dumps({**info, key: value}).encode())
    _refused(_show_path(path), path, "economy file", key)


def test_regression_a_damaged_parquet_file_is_one_line(tmp_path: Path) -> None:
    """Arrow's messages span lines ("Couldn't deserialize thrift: ...\nDeserializing page header failed.")."""
    path = tmp_path / "e.parquet"
    _economy_file(path)
    data = bytearray(path.read_bytes())
    for at in range(4, len(data) - 8, 7):  # damage every few bytes but the magic numbers at both ends
        data[at] ^= 0x5A
    path.write_bytes(bytes(data))
    for kind in ("auto", "economy", "matrices"):
        check_outcome(_show_path(path, "--kind", kind), kind, tmp_path)


def test_regression_repeated_parquet_column_names(tmp_path: Path) -> None:
    """Parquet Z with a column name twice: Arrow's multi-line "Multiple matches for FieldRef" before; now the
    loader's own message, as for a CSV file."""
    grids = {"Z": _grid(BASE, "Z"), "Y": _grid(BASE, "Y")}
    for row in grids["Z"]:
        row.insert(3, row[2])  # R00/S00 twice
    for name, grid in grids.items():
        _write_parquet(grid, tmp_path / f"{name}.parquet", as_text=False)
    _refused(_show_path(tmp_path), tmp_path, "duplicated column label R00/S00")


def test_regression_a_label_with_a_line_break(tmp_path: Path) -> None:
    """A quoted CSV label holding a line break printed a two-line error; such labels are refused by name."""
    grids = {"Z": _grid(BASE, "Z"), "Y": _grid(BASE, "Y")}
    grids["Z"][1][0] = "R\n00"
    for name, grid in grids.items():
        _write_csv(grid, tmp_path / f"{name}.csv", ",")
    _refused(_show_path(tmp_path), tmp_path, "line break", "'R\\n00'")


def test_regression_a_domestic_region_without_trade(tmp_path: Path) -> None:
    """A domestic region that trades with no one: 0/0 in the trade shares (RuntimeWarning, exit 1 under -W error;
    "nan%" otherwise); the share shows "-" now."""
    z = np.array([[1.0, 0.0], [0.0, 1.0]])
    y = np.array([[5.0, 0.0], [0.0, 5.0]])
    write_matrices(Economy(id="a", regions=("R00", "R01"), sectors=("S",), z=z, y=y), tmp_path, fmt="csv")
    res = _show_path(tmp_path, "--domestic", "R00")
    assert res.exit_code == 0, res.output
    assert res.stdout.splitlines()[-1].split()[-1] == "-"


def test_regression_an_economy_without_output(tmp_path: Path) -> None:
    """Every flow 0: it passed Economy.check, then 0/0 in the listing's shares; it is refused now."""
    with pytest.raises(EconomyError, match="no output at all"):
        Economy(id="zero", regions=("R00", "R01"), sectors=("S",), z=np.zeros((2, 2)), y=np.zeros((2, 2)))
    grids = {"Z": _grid(BASE, "Z"), "Y": _grid(BASE, "Y")}
    for grid in grids.values():
        for row in grid[1:]:
            row[2:] = ["0"] * len(row[2:])
        _write_csv(grid, tmp_path / f"{'Z' if grid is grids['Z'] else 'Y'}.csv", ",")
    _refused(_show_path(tmp_path), tmp_path, "no output at all")


def test_regression_format_economy_is_unchanged_for_a_trading_economy() -> None:
    """The "-" share applies only where nothing is traded: the listing of a trading economy keeps its figures."""
    lines = format_economy(synthetic(3, 2, n_domestic=1))
    assert lines[-1].endswith("%")
