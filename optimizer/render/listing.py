"""Catalog listings (`llmplan catalog list`) as a SkyPilot-style table, CSV or JSON.

The table prints upper-case headers, left-aligned columns two spaces apart, `$ 1.234` for hourly prices and
prices per million tokens, and `-` for a missing value (SkyPilot's GPU list convention). CSV and JSON carry the
raw values (empty / null where missing) under the field names, for scripts.
"""

from __future__ import annotations

import csv
import io
import json

from ..catalog.query import Column, Listing


def cell(col: Column, v) -> str:
    if v is None or v == "":
        return "-"
    if col.kind in ("usd", "usd_mtok"):
        return f"$ {v:,.3f}"
    if col.kind == "int":
        return f"{int(v):,}"
    if col.kind == "gib":
        return f"{v:g}GiB"
    if col.kind == "rate":
        return f"{100 * v:g}%"
    if col.kind == "float":
        return f"{v:g}"
    return str(v)


def to_table(listing: Listing) -> str:
    cells = [[c.header for c in listing.columns]]
    cells += [[cell(c, r.get(c.key)) for c in listing.columns] for r in listing.rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(listing.columns))]
    lines = ["  ".join(v.ljust(w) for v, w in zip(row, widths)).rstrip() for row in cells]
    if not listing.rows:
        lines.append(f"(no {listing.view} match the filters)")
    return "\n".join(lines) + "\n"


def to_csv(listing: Listing) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow([c.key for c in listing.columns])
    for r in listing.rows:
        w.writerow(["" if r.get(c.key) is None else r.get(c.key) for c in listing.columns])
    return buf.getvalue()


def to_json(listing: Listing) -> str:
    doc = {"view": listing.view, "catalog": listing.catalog_version, "filters": listing.filters,
           "columns": [c.key for c in listing.columns],
           "rows": [{c.key: r.get(c.key) for c in listing.columns} for r in listing.rows]}
    return json.dumps(doc, indent=2) + "\n"


RENDERERS = {"table": to_table, "csv": to_csv, "json": to_json}
