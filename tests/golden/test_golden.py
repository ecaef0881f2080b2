"""Golden regression: the smoke config and ``eu_embargo`` at 32 draws give the tables recorded before the
restructuring of issue 7 (``scripts/make_golden.py``): bit-identical on a machine with the same numerics
fingerprint, within 1e-12 relative elsewhere (another processor or BLAS kernel rounds differently)."""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from golden import CASES, DATA, fingerprint, run_case

RTOL = 1e-12


@pytest.fixture(scope="module", params=sorted(CASES))
def case(request: pytest.FixtureRequest) -> tuple[str, pa.Table, pa.Table]:
    name = request.param
    results, params = run_case(name)
    return name, results, params


def _golden(name: str, kind: str) -> tuple[pa.Table, bool]:
    table = pq.read_table(DATA / f"{name}.{kind}.parquet")
    same = (table.schema.metadata or {}).get(b"golden_fingerprint", b"").decode() == fingerprint()
    return table.replace_schema_metadata(None), same


def _compare(got: pa.Table, want: pa.Table, exact: bool) -> None:
    assert got.schema == want.schema, f"schema changed:\n{got.schema}\nvs\n{want.schema}"
    assert got.num_rows == want.num_rows
    for name in want.column_names:
        a, b = got.column(name), want.column(name)
        if pa.types.is_floating(b.type) or pa.types.is_integer(b.type):
            assert a.null_count == b.null_count, name
            valid = np.asarray(b.is_valid())
            x = np.asarray(a.to_numpy(zero_copy_only=False), dtype=float)[valid]
            y = np.asarray(b.to_numpy(zero_copy_only=False), dtype=float)[valid]
            assert np.array_equal(np.asarray(a.is_valid()), valid), name
            if exact:
                diff = np.flatnonzero(x != y)
                assert diff.size == 0, (
                    f"{name}: {diff.size} values differ in their bits, e.g. {x[diff[0]]!r} vs {y[diff[0]]!r}"
                )
            else:
                np.testing.assert_allclose(
                    x, y, rtol=RTOL, atol=RTOL * max(1.0, float(np.abs(y).max(initial=0.0))), err_msg=name
                )
        else:
            assert a.equals(b), name


@pytest.mark.parametrize("kind", ["results", "params"])
def test_tables_equal_the_golden_ones(case: tuple[str, pa.Table, pa.Table], kind: str) -> None:
    name, results, params = case
    want, same_machine = _golden(name, kind)
    _compare(results if kind == "results" else params, want, exact=same_machine)


def test_the_golden_files_name_their_numerics() -> None:
    for name in CASES:
        for kind in ("results", "params"):
            meta = pq.read_schema(DATA / f"{name}.{kind}.parquet").metadata or {}
            assert set(json.loads(meta[b"golden_fingerprint"])) == {"machine", "processor", "numpy", "blas"}
