"""Loading real tables: pymrio save_all folders, the database dispatch, plain matrices and bad tables."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from cluster.economy import Economy
from cluster.errors import EconomyError
from cluster.loaders import KINDS, detect_kind, from_iosystem, load_matrices, load_table, write_matrices

pymrio = pytest.importorskip("pymrio")
pd = pytest.importorskip("pandas")


@pytest.fixture(scope="module")
def io() -> Any:
    system = pymrio.load_test()
    system.calc_all()
    return system


@pytest.fixture(scope="module")
def reference(io: Any) -> Economy:
    return from_iosystem(io, id="pymrio-test")


def _same_table(got: Economy, want: Economy) -> None:
    assert got.regions == want.regions
    assert got.sectors == want.sectors
    assert got.fd_categories == want.fd_categories
    np.testing.assert_array_equal(got.z, want.z)
    np.testing.assert_array_equal(got.y, want.y)


# --- pymrio folders ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["txt", "parquet"])
def test_save_all_round_trip(io: Any, reference: Economy, tmp_path: Path, fmt: str) -> None:
    io.save_all(tmp_path / "mrio", table_format=fmt)
    assert detect_kind(tmp_path / "mrio") == "pymrio"
    economy = load_table(tmp_path / "mrio", domestic=["reg2", "reg5"])
    _same_table(economy, reference)
    assert economy.unit == "Mill USD"
    assert economy.domestic.tolist() == [False, True, False, False, True, False]
    assert economy.id == "mrio"
    assert economy.provenance["loader"] == "pymrio"


def test_save_all_without_z_derives_it(io: Any, reference: Economy, tmp_path: Path) -> None:
    io.save_all(tmp_path / "mrio", table_format="parquet")
    (tmp_path / "mrio" / "Z.parquet").unlink()
    params = tmp_path / "mrio" / "file_parameters.json"
    params.write_text(params.read_text().replace('"Z": {', '"Z_gone": {'))
    economy = load_table(tmp_path / "mrio", "pymrio")
    np.testing.assert_allclose(economy.z, reference.z, rtol=1e-12, atol=1e-12 * reference.z.max())


def test_iosystem_labels_and_cells_are_checked(io: Any) -> None:
    def system(z: Any = None, y: Any = None) -> SimpleNamespace:
        return SimpleNamespace(Z=io.Z if z is None else z, Y=io.Y if y is None else y, unit=None)

    z = io.Z.copy()
    z.index = pd.MultiIndex.from_tuples([("reg1", np.nan) if k == 1 else t for k, t in enumerate(z.index)])
    with pytest.raises(EconomyError, match=r"sys \(Z\): row 2 has an empty or NaN label at level 2"):
        from_iosystem(system(z=z), where="sys")
    y = io.Y.copy()
    y.index = pd.MultiIndex.from_tuples([("reg1", "fish") if k == 0 else t for k, t in enumerate(y.index)])
    with pytest.raises(EconomyError, match=r"sys \(Y\): row reg1/fish is not one of the rows of Z"):
        from_iosystem(system(y=y), where="sys")
    z = io.Z.astype(object)
    z.iloc[3, 5] = "n/a"
    with pytest.raises(EconomyError, match=r"sys \(Z\): cell \(row reg1/electricity, column reg1/trade\) is not a nu"):
        from_iosystem(system(z=z), where="sys")


def test_pymrio_folder_errors(tmp_path: Path) -> None:
    with pytest.raises(EconomyError, match=r"no file_parameters\.json"):
        load_table(tmp_path, "pymrio")
    with pytest.raises(EconomyError, match="cannot tell what"):
        load_table(tmp_path)
    (tmp_path / "file_parameters.json").write_text("{not json")
    with pytest.raises(EconomyError, match=r"cannot read pymrio folder .*JSONDecodeError"):
        load_table(tmp_path)


def test_pymrio_missing_is_an_install_hint(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pymrio", None)  # makes `import pymrio` raise ImportError
    for kind in ("pymrio", "oecd"):
        with pytest.raises(EconomyError, match="needs pymrio: pip install pymrio"):
            load_table(tmp_path, kind)


# --- databases through pymrio's parsers ---------------------------------------------------------------------


def test_database_dispatch_calls_the_parser(
    io: Any, reference: Economy, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[tuple[Path, int | None]] = []

    def parse_oecd(path: Path, year: int | None = None) -> Any:
        calls.append((path, year))
        return io

    monkeypatch.setattr(pymrio, "parse_oecd", parse_oecd)
    economy = load_table(tmp_path, "oecd", year=2018, domestic=("reg1",))
    assert calls == [(tmp_path, 2018)]
    _same_table(economy, reference)
    assert economy.source == "oecd"
    assert economy.domestic.tolist() == [True] + [False] * 5


def test_database_without_z_is_completed(
    io: Any, reference: Economy, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def parse_exiobase3(path: Path) -> Any:
        system = pymrio.load_test()
        system.calc_all()
        system.Z = None  # EXIOBASE ships A and x
        return system

    monkeypatch.setattr(pymrio, "parse_exiobase3", parse_exiobase3)
    economy = load_table(tmp_path, "exiobase3")
    np.testing.assert_allclose(economy.z, reference.z, rtol=1e-12, atol=1e-12 * reference.z.max())


def test_database_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(EconomyError, match=r"unknown table kind 'icio'; known kinds are \[.*'oecd'.*'wiod'"):
        load_table(tmp_path, "icio")
    missing = tmp_path / "ICIO2023_2019.zip"
    with pytest.raises(EconomyError, match=r"no such file or folder: '.*ICIO2023_2019\.zip'"):
        load_table(missing, "oecd")
    with pytest.raises(EconomyError, match=r"takes no option \['yaer'\]; pymrio.parse_oecd accepts \['year'\]"):
        load_table(tmp_path, "oecd", yaer=2018)

    def broken(path: Path, year: int | None = None) -> Any:
        raise ValueError("No objects to concatenate")

    monkeypatch.setattr(pymrio, "parse_oecd", broken)
    with pytest.raises(EconomyError, match=r"cannot parse oecd table '.*' with pymrio.parse_oecd: ValueError"):
        load_table(tmp_path, "oecd")
    monkeypatch.delattr(pymrio, "parse_gloria")
    with pytest.raises(EconomyError, match=r"needs pymrio\.parse_gloria, which pymrio .* lacks"):
        load_table(tmp_path, "gloria")


def test_every_kind_is_described() -> None:
    assert {"auto", "economy", "pymrio", "matrices", "oecd", "exiobase3", "wiod", "eora26", "gloria"} <= set(KINDS)


# --- economy files -------------------------------------------------------------------------------------------


def test_economy_file_keeps_or_overrides_tags(reference: Economy, tmp_path: Path) -> None:
    path = tmp_path / "e.parquet"
    Economy(**{**_fields(reference), "domestic": np.arange(6) < 2}).to_parquet(path)
    assert detect_kind(path) == "economy"
    assert load_table(path).domestic.tolist() == [True, True, False, False, False, False]
    assert load_table(path, domestic=["reg6"], id="other").domestic.tolist() == [False] * 5 + [True]
    with pytest.raises(EconomyError, match=r"domestic regions \['RUS'\] are not in the table; its regions are \["):
        load_table(path, domestic=["RUS"])
    with pytest.raises(EconomyError, match=r"table kind 'economy' takes no option \['unit'\]"):
        load_table(path, "economy", unit="EUR")


def _fields(economy: Economy) -> dict[str, Any]:
    keys = ("id", "regions", "sectors", "z", "y", "fd_categories", "unit", "source")
    return {key: getattr(economy, key) for key in keys}


# --- plain matrices -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_plain_matrices_round_trip(reference: Economy, tmp_path: Path, fmt: str) -> None:
    write_matrices(reference, tmp_path / "icio", fmt=fmt)  # type: ignore[arg-type]
    assert detect_kind(tmp_path / "icio") == "matrices"
    economy = load_table(tmp_path / "icio", domestic=["reg1"], unit="Mill USD")
    _same_table(economy, reference)
    assert (economy.id, economy.unit, economy.source) == ("icio", "Mill USD", "matrices")
    by_file = load_matrices(tmp_path / "icio" / f"Z.{fmt}", y=tmp_path / "icio" / f"Y.{fmt}")
    _same_table(by_file, reference)


def test_plain_matrices_in_any_order(reference: Economy, tmp_path: Path) -> None:
    """Rows, columns and label columns may come in any order; industries follow Z's rows."""
    write_matrices(reference, tmp_path, fmt="parquet")
    rng = np.random.default_rng(0)
    for name in ("Z", "Y"):
        frame = pd.read_parquet(tmp_path / f"{name}.parquet")
        values = [c for c in frame.columns if c not in ("region", "sector")]
        frame = frame[[*rng.permutation(values), "sector", "region"]]
        if name == "Z":  # keep region-major blocks but shuffle the regions and the sectors inside them
            frame = (
                frame.set_index(["region", "sector"])
                .loc[
                    [(r, s) for r in ("reg3", "reg1", "reg2", "reg4", "reg5", "reg6") for s in reference.sectors[::-1]]
                ]
                .reset_index()
            )
        else:
            frame = frame.iloc[rng.permutation(len(frame))]
        frame.to_parquet(tmp_path / f"{name}.parquet", index=False)
    economy = load_table(tmp_path)
    assert economy.regions == ("reg3", "reg1", "reg2", "reg4", "reg5", "reg6")
    assert economy.sectors == reference.sectors[::-1]
    for r in economy.regions:
        for s in economy.sectors:
            i, j = economy.industry(r, s), reference.industry(r, s)
            np.testing.assert_array_equal(
                economy.z[i].reshape(6, 8)[:, ::-1].ravel(), reference.z[j].reshape(6, 8)[[2, 0, 1, 3, 4, 5]].ravel()
            )


def test_parquet_written_by_pandas_with_an_index(tmp_path: Path) -> None:
    write_matrices(_good(), tmp_path, fmt="parquet")
    z = pd.read_parquet(tmp_path / "Z.parquet")
    z.set_index(["region", "sector"]).to_parquet(tmp_path / "Z.parquet")  # labels stored as the index
    y = pd.read_parquet(tmp_path / "Y.parquet")
    y.iloc[[3, 1, 2, 0]].to_parquet(tmp_path / "Y.parquet")  # a shuffled index is kept as __index_level_0__
    np.testing.assert_array_equal(load_table(tmp_path).y, _good().y)


def test_one_category_as_bare_region_headers(tmp_path: Path) -> None:
    _write(tmp_path)
    economy = load_table(tmp_path / "Z.csv")
    assert economy.fd_categories == ("final demand",)
    assert economy.regions == ("A", "NA")  # "NA" is Namibia, not a missing value
    assert economy.z[0, 1] == 2.0
    assert economy.y[3, 1] == 7.0
    assert economy.id == tmp_path.name


def test_semicolons_and_a_byte_order_mark(tmp_path: Path) -> None:
    _write(tmp_path)
    for name in ("Z.csv", "Y.csv"):
        text = (tmp_path / name).read_text().replace(",", ";")
        (tmp_path / name).write_text("\ufeff" + text, encoding="utf-8")
    np.testing.assert_array_equal(load_table(tmp_path).z, _good().z)


# A 2 x 2 table, then every way of spoiling it. Cells are written as text, as a spreadsheet would.
Z_CSV = """region,sector,A/x,A/y,NA/x,NA/y
A,x,1,2,0.5,0
A,y,3,1,0,0.2
NA,x,0.1,0,2,1
NA,y,0,0.3,1,2
"""
Y_CSV = """region,sector,A,NA
A,x,10,1
A,y,8,2
NA,x,1,9
NA,y,2,7
"""


def _write(folder: Path, z: str = Z_CSV, y: str = Y_CSV) -> Path:
    (folder / "Z.csv").write_text(z)
    (folder / "Y.csv").write_text(y)
    return folder


def _good() -> Economy:
    z = np.array([[1, 2, 0.5, 0], [3, 1, 0, 0.2], [0.1, 0, 2, 1], [0, 0.3, 1, 2]])
    y = np.array([[10, 1], [8, 2], [1, 9], [2, 7]], dtype=float)
    return Economy(id="good", regions=("A", "NA"), sectors=("x", "y"), z=z, y=y)


BAD_Z = {
    "negative flow": (("A,x,1,2,", "A,x,1,-2,"), r"Z.csv': cell \(row A/x, column A/y\) is negative \(-2.0\)"),
    "NaN": (("A,y,3,1,0,", "A,y,3,NaN,0,"), r"Z.csv': cell \(row A/y, column A/y\) is empty, NaN or infinite"),
    "empty cell": (("A,y,3,1,0,", "A,y,3,,0,"), r"Z.csv': cell \(row A/y, column A/y\) is empty"),
    "infinite": (("NA,x,0.1,", "NA,x,inf,"), r"cell \(row NA/x, column A/x\) is empty, NaN or infinite \(inf\)"),
    "non-numeric": (
        ("NA,y,0,0.3,", "NA,y,0,0.3x,"),
        r"Z.csv': cell \(row NA/y, column A/y\) is not a number: "
        "'0.3x'",
    ),
    "thousands separator": (("A,x,1,2,", 'A,x,"1,000",2,'), r"row A/x, column A/x\) is not a number: '1,000'"),
    "negative value added": (("A,y,3,1,", "A,y,30,1,"), r"'.*': .*value added of A/x is negative"),
    "duplicated row": (("NA,x,", "A,x,"), r"Z.csv': duplicated row label A/x \(data rows 1 and 3\)"),
    "duplicated column": (("A/y,NA/x", "A/x,NA/x"), r"Z.csv': duplicated column label A/x \(value columns 1 and 2\)"),
    "missing region label": (("A,y,3", ",y,3"), r"Z.csv': data row 2 has an empty region label"),
    "blank sector label": (("A,y,3", "A,  ,3"), r"Z.csv': data row 2 has an empty sector label"),
    "missing header": (("A/y,NA/x", ",NA/x"), r"Z.csv': column 4 has no header"),
    "header without sector": (("A/y,NA/x", "Ay,NA/x"), r"Z.csv': column header 'Ay' is not region/sector"),
    "missing industry": (("NA,y,0,0.3,1,2\n", ""), r"Z.csv': no row for \['NA/y'\] \(every region needs"),
    "no label columns": (("region,sector", "reg,sec"), r"Z.csv': needs label columns 'region' and 'sector'"),
    "ragged row": (("A,x,1,2,0.5,0", "A,x,1,2,0.5"), r"cannot read '.*Z.csv'.*Expected 6 columns"),
}


@pytest.mark.parametrize(("edit", "match"), BAD_Z.values(), ids=BAD_Z.keys())
def test_bad_z_is_refused(tmp_path: Path, edit: tuple[str, str], match: str) -> None:
    assert edit[0] in Z_CSV
    _write(tmp_path, z=Z_CSV.replace(edit[0], edit[1], 1))
    with pytest.raises(EconomyError, match=match):
        load_table(tmp_path)


def test_zero_output_with_inputs_is_refused(tmp_path: Path) -> None:
    _write(tmp_path, z=Z_CSV.replace("NA,y,0,0.3,1,2", "NA,y,0,0,0,0"), y=Y_CSV.replace("NA,y,2,7", "NA,y,0,0"))
    with pytest.raises(EconomyError, match=r"table '.*': economy '.*': NA/y has inputs but no output"):
        load_table(tmp_path)


BAD_Y = {
    "row not in Z": (("NA,y,2,7", "NA,z,2,7"), r"Y.csv': row NA/z is not one of the rows of Z"),
    "row missing": (("NA,y,2,7\n", ""), r"Y.csv': no row for \['NA/y'\] \(Y needs a row for each row of Z\)"),
    "unknown region": (("region,sector,A,NA", "region,sector,A,NB"), r"Y.csv': .*region 'NB' is not a region"),
    "mixed headers": (("region,sector,A,NA", "region,sector,A,NA/hh"), r"Y.csv': column headers mix"),
    "missing category": (
        ("region,sector,A,NA", "region,sector,A/hh,NA/gov"),
        r"Y.csv': no column for \['A/gov', 'NA/hh'\] \(every region needs every category",
    ),
    "NaN": (("A,y,8,2", "A,y,8,nan"), r"Y.csv': cell \(row A/y, column NA\) is empty, NaN or infinite"),
    "non-numeric": (("A,y,8,2", "A,y,8,two"), r"Y.csv': cell \(row A/y, column NA\) is not a number: 'two'"),
}


@pytest.mark.parametrize(("edit", "match"), BAD_Y.values(), ids=BAD_Y.keys())
def test_bad_y_is_refused(tmp_path: Path, edit: tuple[str, str], match: str) -> None:
    assert edit[0] in Y_CSV
    _write(tmp_path, y=Y_CSV.replace(edit[0], edit[1], 1))
    with pytest.raises(EconomyError, match=match):
        load_table(tmp_path)


def test_bad_parquet_cells_and_labels(tmp_path: Path) -> None:
    write_matrices(_good(), tmp_path, fmt="parquet")
    z = pd.read_parquet(tmp_path / "Z.parquet")
    z.loc[2, "A/y"] = np.nan
    z.to_parquet(tmp_path / "Z.parquet", index=False)
    with pytest.raises(EconomyError, match=r"'.*Z.parquet': cell \(row NA/x, column A/y\) is empty, NaN"):
        load_table(tmp_path)
    z.loc[2, "A/y"] = 0.0
    z.loc[1, "sector"] = None
    z.to_parquet(tmp_path / "Z.parquet", index=False)
    with pytest.raises(EconomyError, match=r"'.*Z.parquet': data row 2 has an empty sector label \('A', None\)"):
        load_table(tmp_path)
    z.loc[1, "sector"] = "y"
    z["A/x"] = z["A/x"].astype(str)
    z.loc[0, "A/x"] = "1 000"
    z.to_parquet(tmp_path / "Z.parquet", index=False)
    with pytest.raises(EconomyError, match=r"cell \(row A/x, column A/x\) is not a number: '1 000'"):
        load_table(tmp_path)


def test_matrices_folder_and_option_errors(tmp_path: Path) -> None:
    _write(tmp_path)
    write_matrices(_good(), tmp_path, fmt="parquet")
    with pytest.raises(EconomyError, match=r"must hold exactly one of Z.parquet and Z.csv"):
        load_table(tmp_path, "matrices")
    with pytest.raises(EconomyError, match=r"no such file or folder: '.*Y.csv.bak'"):
        load_table(tmp_path / "Z.csv", y=tmp_path / "Y.csv.bak")
    with pytest.raises(EconomyError, match=r"takes no option \['domestc'\]; it accepts \['y', 'unit'\]"):
        load_table(tmp_path / "Z.csv", domestc=["A"])
    with pytest.raises(EconomyError, match=r"domestic regions \['B'\] are not in the table; its regions are"):
        load_table(tmp_path / "Z.csv", domestic=["A", "B"])
    slashed = Economy(id="s", regions=("A/B",), sectors=("x",), z=np.zeros((1, 1)), y=np.ones((1, 1)))
    with pytest.raises(EconomyError, match=r"region labels \['A/B'\] contain '/'"):
        write_matrices(slashed, tmp_path / "out")


def test_pymrio_and_pandas_load_only_on_use() -> None:
    code = "import sys, cluster.loaders, cluster.aggregate; print(sorted({'pymrio', 'pandas'} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
