"""Words both sides of the store agree on: the normalised level names and the layout of an event row.

It sits below `ingest`, `storage` and `retrieval` so that none of them imports another for them.
"""

from __future__ import annotations

from typing import Any

# Normalised levels, lowest to highest. Stored as these exact strings.
LEVELS: tuple[str, ...] = ("TRACE", "DEBUG", "INFO", "NOTICE", "WARNING", "ERROR", "CRITICAL")
LEVEL_RANK: dict[str, int] = {name: rank for rank, name in enumerate(LEVELS)}

# An event as the ingester hands it to the writer: values in this column order, ts as epoch microseconds,
# fields as JSON text.
EVENT_COLUMNS: tuple[str, ...] = (
    "id", "source_id", "generation", "line_no", "line_end", "byte_offset", "ts", "level", "host",
    "process", "pid", "template_id", "message", "raw", "fields",
)  # fmt: skip
EventRow = tuple[Any, ...]

# Kinds of named fields (what may be computed over a field's values), as template_fields stores them.
MEASURE = "measure"  # a quantity: min/max/sum/avg/percentiles
IDENTIFIER = "identifier"  # a number or code that names something (port, pid, status): never summed
LABEL = "label"  # text, addresses: grouped and filtered, never computed over
