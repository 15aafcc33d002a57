"""`llmplan compare` output: a table (SkyPilot style, '-' for missing values), JSON, or HTML with a bar chart of
cost per million tokens. Pure functions of the `Comparison`."""

from __future__ import annotations

import json
from html import escape

from ..explain.compare import Comparison, Row
from .fmt import unit_usd
from .html import CSS, _table
from .svg import bar_chart

HEAD = ("GPU", "VRAM GiB", "FITS", "PRECISION", "TP", "REQ/S", "TOK/S", "TOK/S BAND", "OFFER", "$/HOUR", "$/MTOK")


def _num(v: float | None, fmt: str = "{:,.1f}") -> str:
    return "-" if v is None else fmt.format(v)


def _cells(r: Row) -> tuple:
    b = r.best
    if b is None:
        return (r.gpu, f"{r.vram_gib:g}", "no", "-", "-", "-", "-", "-", "-", "-", "-")
    tok = b.output_tok_s if b.output_tok_s else (b.requests_per_s or 0.0)
    band = "-" if b.band is None else f"{b.band[0]:,.0f}-{b.band[1]:,.0f}"
    return (r.gpu, f"{r.vram_gib:g}", "yes", b.precision, str(b.tp), _num(b.requests_per_s, "{:,.2f}"),
            _num(tok, "{:,.0f}"), band, b.offer or "-", unit_usd(b.replica_hourly_usd), unit_usd(b.usd_per_mtok))


def _title(c: Comparison) -> str:
    w = c.workload
    return (f"{c.model_display} on every GPU type: {w.input_tokens} in / {w.output_tokens} out tokens, TTFT <= "
            f"{w.ttft_ms:g} ms, TPOT <= {w.tpot_ms:g} ms ({w.name}); engine {c.engine}; {c.capacity_type} prices")


def to_table(c: Comparison) -> str:
    rows = [HEAD] + [_cells(r) for r in c.rows]
    widths = [max(len(str(r[i])) for r in rows) for i in range(len(HEAD))]
    right = {1, 4, 5, 6, 7, 9, 10}
    lines = [_title(c), ""]
    for r in rows:
        lines.append("  ".join(str(v).rjust(widths[i]) if i in right else str(v).ljust(widths[i])
                               for i, v in enumerate(r)).rstrip())
    why = [r for r in c.rows if r.best is None]
    if why:
        lines += ["", "Why not:"] + [f"  {r.gpu}: {r.why_not}" for r in why]
    per = "input" if c.kind == "embedding" else "output"
    lines += ["", f"$/MTOK = $/HOUR (one replica: TP GPUs) / ({per} tokens/s x 3600) x 1e6; TOK/S = {per} tokens/s "
                  f"of one replica (TOK/S BAND: the range the model expects, where it gives one)"]
    lines += [f"- {n}" for n in c.notes]
    return "\n".join(lines) + "\n"


def to_json(c: Comparison) -> str:
    return json.dumps(c.to_dict(), indent=2) + "\n"


def to_html(c: Comparison) -> str:
    per = "input" if c.kind == "embedding" else "output"
    items = [(f"{r.gpu} {r.best.precision} tp{r.best.tp}", r.best.usd_per_mtok, unit_usd(r.best.usd_per_mtok))
             for r in c.rows if r.best is not None]
    chart = bar_chart(f"USD per million {per} tokens (cheapest offer, full use)", items) if items else ""
    why = "".join(f"<li>{escape(r.gpu)}: {escape(r.why_not or '')}</li>" for r in c.rows if r.best is None)
    notes = "".join(f"<li>{escape(n)}</li>" for n in c.notes)
    return (f"<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>{escape(c.model_display)}: GPU comparison"
            f"</title><style>{CSS}</style></head><body>\n<h1>{escape(c.model_display)}: which GPU?</h1>\n"
            f"<p class=muted>{escape(_title(c))}</p>\n{chart}\n"
            f"{_table(HEAD, [_cells(r) for r in c.rows], {1, 4, 5, 6, 7, 9, 10})}\n"
            + (f"<h2>Why not</h2><ul>{why}</ul>\n" if why else "")
            + f"<h2>Notes</h2><ul>{notes}</ul>\n</body></html>\n")
