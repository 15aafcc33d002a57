"""Request traces: read a log of requests (arrival time, input tokens, output tokens) into arrays.

Formats:
- `azure`: the Azure LLM inference trace CSV (`TIMESTAMP,ContextTokens,GeneratedTokens`, timestamps like
  `2023-11-16 18:15:46.6805900`, a UTF-8 byte-order mark allowed);
- `csv`: any CSV with a header; the three columns are found by name (`--columns time=..,input=..,output=..`, or
  the usual names listed in `DEFAULT_NAMES`);
- `jsonl`: one JSON object per line, the same three fields by name.
A file ending in `.gz` is read through gzip. The format is detected from the name and header when not given.

Times are seconds (a number) or ISO 8601 date-times; they are returned as seconds from the first request, sorted
(a log need not be in order). Token counts must be whole numbers, input >= 1 and output >= 0.

Bad rows are never dropped silently: by default the reader raises `TraceError` naming up to ten bad rows by line
number and what is wrong with each; with `skip_bad=True` it leaves them out and lists every one in
`Trace.skipped` (the CLI prints them on stderr).

Speed: rows are split by the csv module (C) and converted column-wise by numpy; a row-by-row pass runs only to
name the bad rows when a column fails to convert.
"""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import io
import json
import re
from operator import itemgetter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .errors import LlmplanError

FORMATS = ("azure", "csv", "jsonl")
AZURE_COLUMNS = {"time": "TIMESTAMP", "input": "ContextTokens", "output": "GeneratedTokens"}
DEFAULT_NAMES = {
    "time": ("timestamp", "time", "arrival_time", "arrival_s", "t", "TIMESTAMP"),
    "input": ("input_tokens", "prompt_tokens", "context_tokens", "ContextTokens", "input"),
    "output": ("output_tokens", "completion_tokens", "generated_tokens", "GeneratedTokens", "output"),
}
MAX_LISTED = 10
_TZ = re.compile(r"(Z|[+-]\d\d:?\d\d)$")


class TraceError(LlmplanError):
    """A trace file cannot be read, or has bad rows."""


@dataclass(frozen=True)
class Trace:
    source: str
    t_s: np.ndarray  # seconds from the first request, ascending (float64)
    input_tokens: np.ndarray  # int64, >= 1
    output_tokens: np.ndarray  # int64, >= 0
    start: str | None = None  # the first request's date-time (ISO, UTC as written) when times are date-times
    start_hour: float = 0.0  # hour of day (UTC) of the first request, 0..24
    skipped: tuple = field(default_factory=tuple)  # (line, reason) of bad rows left out (skip_bad only)

    @property
    def n(self) -> int:
        return int(len(self.t_s))

    @property
    def duration_s(self) -> float:
        return float(self.t_s[-1] - self.t_s[0]) if self.n else 0.0

    @property
    def rate_rps(self) -> float:
        """Average arrival rate: (n - 1) gaps over the span from the first to the last request."""
        return (self.n - 1) / self.duration_s if self.duration_s > 0 else 0.0


def parse_columns(spec: str | None) -> dict[str, str]:
    """'time=ts,input=prompt,output=completion' -> {'time': 'ts', ...}."""
    if not spec:
        return {}
    out = {}
    for part in spec.split(","):
        key, sep, name = part.partition("=")
        key = key.strip()
        if not sep or key not in ("time", "input", "output") or not name.strip():
            raise TraceError(f"cannot read --columns '{spec}'", where="--columns",
                             fix="write time=COLUMN,input=COLUMN,output=COLUMN (any of the three)")
        out[key] = name.strip()
    return out


def detect_format(path: Path, first_line: str) -> str:
    name = path.name.removesuffix(".gz")
    if name.endswith((".jsonl", ".ndjson", ".json")):
        return "jsonl"
    head = first_line.lstrip("\ufeff").strip()
    if head.split(",")[:3] == list(AZURE_COLUMNS.values()):
        return "azure"
    return "csv"


def _read_text(path: Path) -> str:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise TraceError("file not found", file=str(path), fix="check the path") from None
    except IsADirectoryError:
        raise TraceError("is a folder, not a trace file", file=str(path), fix="pass a CSV or JSONL file") from None
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as e:
            raise TraceError(f"not a readable gzip file ({e})", file=str(path), fix="re-compress the file") from None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise TraceError(f"not UTF-8 text (byte {e.start})", file=str(path), fix="save the trace as UTF-8") from None


def read_trace(path: str | Path, fmt: str | None = None, columns: dict[str, str] | None = None, *,
               skip_bad: bool = False) -> Trace:
    """Read a trace file (see the module docstring)."""
    path = Path(path)
    text = _read_text(path)
    first = text.split("\n", 1)[0]
    fmt = fmt or detect_format(path, first)
    if fmt not in FORMATS:
        raise TraceError(f"unknown trace format '{fmt}'", where="--format", fix=f"use one of {', '.join(FORMATS)}")
    if fmt == "jsonl":
        lines, t_raw, i_raw, o_raw, bad = _jsonl_columns(text, columns or {}, str(path))
    else:
        lines, t_raw, i_raw, o_raw, bad = _csv_columns(text, fmt, columns or {}, str(path))
    return _build(str(path), lines, t_raw, i_raw, o_raw, bad, skip_bad)


def _pick(header: list[str], columns: dict, fmt: str, source: str) -> dict[str, int]:
    """Column index of time, input and output."""
    out = {}
    for key in ("time", "input", "output"):
        if key in columns:
            want = (columns[key],)
        elif fmt == "azure":
            want = (AZURE_COLUMNS[key],)
        else:
            want = DEFAULT_NAMES[key]
        hit = next((header.index(n) for n in want if n in header), None)
        if hit is None:
            lowered = [h.lower() for h in header]
            hit = next((lowered.index(n.lower()) for n in want if n.lower() in lowered), None)
        if hit is None:
            raise TraceError(f"no {key} column (looked for {', '.join(want)}; the header has {', '.join(header)})",
                             file=source, where="line 1",
                             fix=f"name it with --columns {key}=COLUMN")
        out[key] = hit
    return out


def _csv_columns(text: str, fmt: str, columns: dict, source: str):
    reader = csv.reader(io.StringIO(text))
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        raise TraceError("empty file", file=source, fix="pass a trace with a header and at least two rows") from None
    idx = _pick(header, columns, fmt, source)
    need = max(idx.values()) + 1
    rows = list(reader)
    physical = text.count("\n") + (0 if text.endswith("\n") else 1)
    if physical == len(rows) + 1 and min(map(len, rows), default=need) >= need:
        lines = np.arange(2, len(rows) + 2)  # one row per line: the line number is the position
        bad_out = []
    else:  # blank lines, short rows or quoted line breaks: count lines exactly
        reader = csv.reader(io.StringIO(text))
        next(reader)
        rows, ln, bad_out = [], [], []
        for r in reader:  # blank lines are not rows; short rows are bad rows
            if len(r) >= need:
                rows.append(r)
                ln.append(reader.line_num)
            elif r:
                bad_out.append((reader.line_num, f"{len(r)} fields, expected at least {need}"))
        lines = np.asarray(ln, dtype=np.int64)
    t_raw, i_raw, o_raw = (list(map(itemgetter(idx[k]), rows)) for k in ("time", "input", "output"))
    names = {"time": header[idx["time"]], "input": header[idx["input"]], "output": header[idx["output"]]}
    return lines, (names["time"], t_raw), (names["input"], i_raw), (names["output"], o_raw), bad_out


def _jsonl_columns(text: str, columns: dict, source: str):
    names = {k: columns.get(k) for k in ("time", "input", "output")}
    lines, t_raw, i_raw, o_raw, bad = [], [], [], [], []
    for ln, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as e:
            bad.append((ln, f"not valid JSON ({e.msg})"))
            continue
        if not isinstance(obj, dict):
            bad.append((ln, "not a JSON object"))
            continue
        for key in ("time", "input", "output"):
            if names[key] is None:
                names[key] = next((n for n in DEFAULT_NAMES[key] if n in obj), None)
        missing = [k for k in ("time", "input", "output") if names[k] is None or names[k] not in obj]
        if missing:
            if any(names[k] is None for k in missing):
                k = next(k for k in missing if names[k] is None)
                raise TraceError(f"no {k} field (looked for {', '.join(DEFAULT_NAMES[k])}; line {ln} has "
                                 f"{', '.join(obj)})", file=source, where=f"line {ln}",
                                 fix=f"name it with --columns {k}=FIELD")
            bad.append((ln, f"missing {', '.join(names[k] for k in missing)}"))
            continue
        lines.append(ln)
        t_raw.append(str(obj[names["time"]]).strip())
        i_raw.append(str(obj[names["input"]]).strip())
        o_raw.append(str(obj[names["output"]]).strip())
    return (np.asarray(lines, dtype=np.int64), (names["time"], t_raw), (names["input"], i_raw),
            (names["output"], o_raw), bad)


def _ints(name: str, raw: list[str], minimum: int, lines: np.ndarray, bad: list) -> tuple[np.ndarray, np.ndarray]:
    """Whole numbers >= minimum; returns (values, ok mask) and appends (line, reason) for the rest."""
    try:
        v = np.asarray(raw).astype(np.int64) if raw else np.empty(0, dtype=np.int64)
        ok = np.ones(len(v), dtype=bool)
    except (ValueError, OverflowError):
        v = np.zeros(len(raw), dtype=np.int64)
        ok = np.ones(len(raw), dtype=bool)
        for k, s in enumerate(raw):
            try:
                f = float(s)
                if not f.is_integer():
                    raise ValueError
                v[k] = int(f)
            except (ValueError, OverflowError):
                ok[k] = False
                bad.append((int(lines[k]), f"{name} '{s}' is not a whole number"))
    low = np.flatnonzero((v < minimum) & ok) if len(v) else []
    for k in low:
        bad.append((int(lines[k]), f"{name} {v[k]} is below {minimum}"))
        ok[k] = False
    return v, ok


def _times(name: str, raw: list[str], lines: np.ndarray, bad: list) -> tuple[np.ndarray, np.ndarray, bool]:
    """Seconds (float) from numbers or ISO date-times; returns (seconds, ok mask, date-times?). Numbers are seconds
    since midnight UTC of some day (a Unix time is); date-times with an offset are converted to UTC."""
    n = len(raw)
    if n == 0:
        return np.empty(0), np.empty(0, dtype=bool), False
    try:
        float(raw[0])
        numeric = True
    except ValueError:
        numeric = False
    ok = np.ones(n, dtype=bool)
    if numeric:
        try:
            v = np.asarray(raw).astype(np.float64)
        except ValueError:
            v = np.zeros(n)
            for k, s in enumerate(raw):
                try:
                    v[k] = float(s)
                except ValueError:
                    ok[k] = False
                    bad.append((int(lines[k]), f"{name} '{s}' is not a number of seconds"))
        fin = np.isfinite(v)
        for k in np.flatnonzero(~fin & ok):
            bad.append((int(lines[k]), f"{name} {raw[k]} is not finite"))
        ok &= fin
        return v, ok, False
    try:
        if _TZ.search(raw[0]):  # numpy has no time zones: parse those row by row
            raise ValueError
        v = np.asarray(raw, dtype="datetime64[ns]").astype(np.int64) / 1e9
    except ValueError:
        v = np.zeros(n)
        for k, s in enumerate(raw):
            try:
                d = dt.datetime.fromisoformat(s.replace("Z", "+00:00"))
                if d.tzinfo is not None:
                    d = d.astimezone(dt.timezone.utc).replace(tzinfo=None)
                v[k] = (d - dt.datetime(1970, 1, 1)).total_seconds()
            except ValueError:
                ok[k] = False
                bad.append((int(lines[k]), f"{name} '{s}' is neither seconds nor an ISO date-time"))
    return v, ok, True


def _build(source: str, lines, t_col, i_col, o_col, bad: list, skip_bad: bool) -> Trace:
    lines = np.asarray(lines, dtype=np.int64)
    t, t_ok, absolute = _times(t_col[0], t_col[1], lines, bad)
    i, i_ok = _ints(i_col[0], i_col[1], 1, lines, bad)
    o, o_ok = _ints(o_col[0], o_col[1], 0, lines, bad)
    ok = t_ok & i_ok & o_ok
    bad = sorted(set(bad))
    if bad and not skip_bad:
        listed = "; ".join(f"line {ln}: {why}" for ln, why in bad[:MAX_LISTED])
        more = f" (and {len(bad) - MAX_LISTED} more)" if len(bad) > MAX_LISTED else ""
        raise TraceError(f"{len(bad)} bad row(s): {listed}{more}", file=source,
                         fix="correct or remove those rows, or pass --skip-bad-rows to leave them out (each one "
                             "is then listed on stderr)")
    t, i, o = t[ok], i[ok], o[ok]
    if len(t) < 2:
        raise TraceError(f"{len(t)} usable request(s); a trace needs at least two", file=source,
                         fix="pass a longer trace")
    order = np.argsort(t, kind="stable")
    t, i, o = t[order], i[order], o[order]
    start = None
    start_hour = float(t[0] % 86400) / 3600.0
    if absolute:
        first = dt.datetime(1970, 1, 1) + dt.timedelta(seconds=float(t[0]))
        start = first.isoformat(timespec="seconds")
    return Trace(source=source, t_s=t - t[0], input_tokens=i, output_tokens=o, start=start, start_hour=start_hour,
                 skipped=tuple(bad))
