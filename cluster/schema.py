"""The one definition of every Arrow schema the project writes, with its metadata conventions."""

from __future__ import annotations

import json
from typing import Any

import pyarrow as pa

__all__ = ["ECONOMY_FORMAT", "ECONOMY_SCHEMA", "economy_metadata", "read_metadata"]

#: Format tag of an economy file; bump the number when the layout changes.
ECONOMY_FORMAT = "shock-economy/1"

#: An economy file holds the non-zero annual flows of Z and Y in coordinate form. ``row`` indexes the
#: industries (region-major), ``col`` the columns of [Z | Y]: industries first, then final-demand columns
#: (region-major over categories). Labels, region tags and provenance live in the schema metadata under
#: the key ``shock`` (JSON).
ECONOMY_SCHEMA = pa.schema(
    [
        pa.field("row", pa.int32(), nullable=False),
        pa.field("col", pa.int32(), nullable=False),
        pa.field("value", pa.float64(), nullable=False),
    ]
)


def economy_metadata(info: dict[str, Any]) -> pa.Schema:
    """``ECONOMY_SCHEMA`` carrying ``info`` (labels, tags, provenance) as JSON metadata."""
    return ECONOMY_SCHEMA.with_metadata({b"shock": json.dumps({"format": ECONOMY_FORMAT, **info}).encode()})


def read_metadata(schema: pa.Schema) -> dict[str, Any] | None:
    """The ``shock`` metadata of a schema, or None when there is none."""
    raw = (schema.metadata or {}).get(b"shock")
    if raw is None:
        return None
    value = json.loads(raw)
    return value if isinstance(value, dict) else None
