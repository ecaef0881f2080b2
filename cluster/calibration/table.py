"""The calibration table: parse it, refuse unsourced numbers and malformed entries, hash its content."""

from __future__ import annotations

import hashlib
import json
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from cluster.errors import InputError

__all__ = ["DOMESTIC_COUNTRIES", "CalibrationError", "canonical_hash", "fval", "load_table", "unsourced", "val"]

#: The countries whose regions are the economy's own (sub-national, ``kind = "domestic"``).
DOMESTIC_COUNTRIES = ("RU", "BY")


class CalibrationError(InputError):
    """The calibration table is incomplete or inconsistent."""


def load_table(path: Path) -> dict[str, Any]:
    """Parse the calibration table; refuse numbers without a source or flag and malformed entries."""
    with open(path, "rb") as fh:
        table = tomllib.load(fh)
    problems = list(unsourced(table))
    if problems:
        raise CalibrationError(f"{path}: numbers without a source or flag: " + "; ".join(problems))
    _check_structure(table, path)
    return table


def unsourced(node: Any, sources: dict[str, str] | None = None, where: str = "") -> Iterator[str]:
    """Yield the places where a number is not the ``value`` of an entry with a known ``src`` or a flag."""
    if sources is None:
        sources = node.get("sources", {}) if isinstance(node, dict) else {}
    if isinstance(node, dict):
        if "value" in node:
            flag, src = node.get("flag"), node.get("src")
            if flag not in (None, "D", "E"):
                yield f"{where}: flag must be 'D' or 'E', got {flag!r}"
            if src is not None and src not in sources:
                yield f"{where}: unknown source {src!r}"
            if flag is None and src is None:
                yield f"{where}: neither src nor flag"
            if flag == "D" and src is None:
                yield f"{where}: a derived figure must name its source"
            return
        for key, value in node.items():
            if key != "sources":
                yield from unsourced(value, sources, f"{where}.{key}" if where else key)
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from unsourced(value, sources, f"{where}[{i}]")
    elif isinstance(node, int | float) and not isinstance(node, bool):
        yield f"{where} = {node}"


def _check_structure(table: dict[str, Any], path: Path) -> None:
    """Refuse duplicated ids, unknown region kinds and regions or sectors that lack a required key."""
    regions, sectors = table.get("regions", []), table.get("sectors", [])
    ids = [g.get("id") for g in regions] + [s.get("id") for s in sectors]
    if len(set(ids)) != len(ids):
        raise CalibrationError(f"{path}: duplicated region or sector ids")
    needs = {"domestic": ("grp_share", "area_km2", "points"), "partner": ("gdp", "va_shares", "area_km2", "points")}
    for g in regions:
        kind = g.get("kind")
        if kind not in needs:
            raise CalibrationError(f"{path}: region {g.get('id')!r}: kind must be 'domestic' or 'partner'")
        missing = [k for k in (*needs[kind], "name", "country", "coalition", "friendly") if k not in g]
        if missing:
            raise CalibrationError(f"{path}: region {g['id']!r} lacks {missing}")
        if kind == "domestic" and g["country"] not in DOMESTIC_COUNTRIES:
            raise CalibrationError(f"{path}: domestic region {g['id']!r} must belong to one of {DOMESTIC_COUNTRIES}")
    for s in sectors:
        missing = [k for k in ("id", "name", "covers", "goods", "va_ratio", "input_mix") if k not in s]
        if missing:
            raise CalibrationError(f"{path}: sector {s.get('id')!r} lacks {missing}")


def canonical_hash(table: dict[str, Any]) -> str:
    """SHA-256 of the table's content (not of its bytes: comments, layout and line endings do not count)."""
    return hashlib.sha256(json.dumps(table, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def val(entry: dict[str, Any]) -> Any:
    """The value of a sourced entry."""
    return entry["value"]


def fval(entry: dict[str, Any]) -> float:
    """The value of a sourced entry, as a float."""
    return float(entry["value"])
