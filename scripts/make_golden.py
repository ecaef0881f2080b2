"""Write the golden regression tables of ``tests/golden``: the smoke config and ``eu_embargo`` at 32 draws.

Each case runs on the serial executor with batches of 8 and writes ``tests/golden/data/<case>.results.parquet``
and ``<case>.params.parquet``, with a fingerprint of the numerics (machine, numpy, BLAS kernel) in the schema
metadata: on a machine with the same fingerprint the test asks for bit-identical tables, elsewhere for 1e-12.

Regenerate only when a change is meant to change results, in the same commit, and say why in its message.

    python scripts/make_golden.py            # all cases
    python scripts/make_golden.py smoke      # one case
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "golden"))

from golden import CASES, DATA, fingerprint, run_case


def main(names: list[str]) -> None:
    DATA.mkdir(parents=True, exist_ok=True)
    import pyarrow.parquet as pq

    for name in names or list(CASES):
        results, params = run_case(name)
        meta = {b"golden_fingerprint": fingerprint().encode()}
        for kind, table in (("results", results), ("params", params)):
            path = DATA / f"{name}.{kind}.parquet"
            pq.write_table(table.replace_schema_metadata({**(table.schema.metadata or {}), **meta}), path)
            print(
                f"{path.relative_to(Path.cwd()) if path.is_relative_to(Path.cwd()) else path.name}: "
                f"{table.num_rows} rows x {table.num_columns} columns"
            )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Write the golden regression tables of tests/golden.")
    parser.add_argument("cases", nargs="*", metavar="CASE", help=f"one of {', '.join(CASES)} (default: all)")
    cases = parser.parse_args().cases
    if unknown := sorted(set(cases) - set(CASES)):
        parser.error(f"unknown case {unknown[0]!r}: choose from {', '.join(CASES)}")
    main(cases)
