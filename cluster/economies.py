"""The economies a run can name: the embedded registry and ``resolve`` (an id or a table path -> ``Economy``).

This module sits above the table loaders (``loaders``) and the aggregation (``aggregate``), which build on
``economy`` only; nothing below imports it.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import replace
from pathlib import Path

from cluster.aggregate import aggregate, read_concordance
from cluster.economy import Economy, synthetic
from cluster.errors import EconomyError
from cluster.loaders import from_iosystem, load_table, region_flags

__all__ = ["DEFAULT_ECONOMY", "EMBEDDED", "embedded_path", "load", "resolve"]

#: Economies that need no file: id -> one-line description.
EMBEDDED: dict[str, str] = {
    "ru-by": "Russia's 8 federal districts, Belarus's 7 regions and 7 partners x 10 sectors; an illustrative "
    "calibration from public aggregates (docs/data.md), not an official table",
    "synthetic": "deterministic random economy, 22 regions (8 domestic) x 10 sectors, for smoke runs and benchmarks",
    "pymrio-test": "pymrio's bundled test system, 6 regions x 8 sectors (needs the optional pymrio package)",
}

#: The embedded default economy.
DEFAULT_ECONOMY = "ru-by"


def embedded_path(economy_id: str) -> Path:
    """Where an embedded economy file is shipped inside the package."""
    return Path(__file__).parent / "data" / f"{economy_id}.parquet"


def load(economy_id: str) -> Economy:
    """An embedded economy by id; ``EconomyError`` listing the ids if unknown."""
    if economy_id == "ru-by":
        path = embedded_path(economy_id)
        if not path.exists():
            raise EconomyError(
                f"the embedded economy file {path.name} is missing from the installed package; "
                "reinstall it (pip install .) or rebuild it: python scripts/build_default_economy.py"
            )
        return Economy.read_parquet(path)
    if economy_id == "synthetic":
        return synthetic(22, 10, seed=0, n_domestic=8)
    if economy_id == "pymrio-test":
        try:
            import pymrio
        except ImportError as err:
            raise EconomyError(
                "economy 'pymrio-test' needs pymrio: pip install pymrio (or the project's 'test' extra)"
            ) from err
        io = pymrio.load_test()
        io.calc_all()
        return from_iosystem(io, id="pymrio-test", domestic=("reg1", "reg2"))
    raise EconomyError(f"unknown economy {economy_id!r}; embedded economies are {sorted(EMBEDDED)}")


def resolve(
    spec: str,
    *,
    kind: str = "auto",
    concordance: str | Path | None = None,
    domestic: Collection[str] | None = None,
) -> Economy:
    """An economy from an embedded id or a path, optionally aggregated by a concordance file.

    ``spec`` is an id of ``EMBEDDED`` or a path that ``load_table`` reads (``kind``);
    ``domestic`` replaces the region tags; ``concordance`` names a CSV or TOML concordance (``aggregate``).
    """
    if spec in EMBEDDED:
        economy = load(spec)
        if domestic is not None:
            flags = region_flags(economy.regions, domestic, f"economy {spec!r}")
            economy = replace(economy, domestic=flags)
    elif Path(spec).exists():
        economy = load_table(spec, kind, domestic=domestic)
    else:
        raise EconomyError(
            f"economy {spec!r} is neither an embedded economy ({', '.join(sorted(EMBEDDED))}) nor an existing "
            "path; give one of those ids or the path of a table (shock economies lists the ids)"
        )
    if concordance is not None:
        economy = aggregate(economy, read_concordance(concordance))
    return economy
