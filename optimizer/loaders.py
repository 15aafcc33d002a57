"""Reading input files, in one place: every way a path or its bytes can be bad becomes one clear error.

Each kind of file has one loader, built on the primitives here:
- problem YAML: `problem.load_problem` -> `load_yaml`;
- plan JSON: `result.load_plan_file` -> `load_json`, then `result.plan_from_data`;
- catalog CSV rows (catalog folders, curated tables, `--meta`): `read_csv_rows`;
- import sources: SkyPilot CSV `read_text` (then pandas), LiteLLM JSON `load_json`, provenance YAML `load_yaml`.

`read_text` turns each failure of a path into an error naming the file and the fix: missing, a folder, a symlink
loop, unreadable, larger than `MAX_BYTES`, not UTF-8, empty. A UTF-8 byte-order mark is accepted and dropped,
for every kind of file alike. Parsed YAML and JSON then pass `check_tree`, which names the field (as a path like
`workloads[0].requests_per_month`) of the first value that is out of bounds for any llmplan file:
- nesting deeper than `MAX_DEPTH`, or more than `MAX_NODES` values (YAML aliases can multiply a small file);
- a duplicate key in a mapping (rejected, never "last one wins");
- NaN or an infinity, a number beyond +-`MAX_ABS`, an integer of more than `MAX_INT_DIGITS` digits, a subnormal
  float (nonzero but below 2.2e-308 in magnitude);
- a lone UTF-16 surrogate in a string or key (JSON `"\\ud800"` escapes; it cannot be printed or written back).
Each field's physical bounds are the schema's job (problem.py, catalog/schema.py); this module only guarantees
that what reaches the schema is finite, shallow and printable.
"""

from __future__ import annotations

import codecs
import csv
import errno
import io
import json
import math
import sys
from pathlib import Path

import yaml

from .errors import LlmplanError

MAX_BYTES = 256 * 1024 * 1024
MAX_DEPTH = 64
MAX_NODES = 2_000_000
MAX_ABS = 1e30
MAX_INT_DIGITS = 31


def read_text(path: str | Path, *, what: str, fix: str, error: type[LlmplanError] = LlmplanError) -> str:
    """The file's text (UTF-8, a leading BOM dropped); an `error` naming the file and `fix` for any failure."""
    p = Path(path)
    name = str(path)
    try:
        if p.is_dir():
            raise error(f"is a folder, not a {what} file", file=name, fix=fix)
        size = p.stat().st_size
        if size > MAX_BYTES:
            raise error(f"{size:,} bytes: larger than the {MAX_BYTES:,} bytes a {what} file may have", file=name,
                        fix=fix)
        data = p.read_bytes()
    except FileNotFoundError:
        raise error("file not found", file=name, fix=fix) from None
    except PermissionError:
        raise error("permission denied", file=name, fix=f"make the file readable, or {fix}") from None
    except OSError as e:
        why = {errno.ELOOP: "a symlink loop", errno.ENAMETOOLONG: "file name too long",
               errno.ENOTDIR: "a parent of the path is a file, not a folder",
               errno.EISDIR: f"is a folder, not a {what} file"}.get(e.errno, e.strerror or type(e).__name__)
        raise error(f"cannot read: {why}", file=name, fix=fix) from None
    except ValueError as e:  # a NUL byte in the path
        raise error(f"not a usable path ({e})", file=name, fix=fix) from None
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8):]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data[:e.start].count(b"\n") + 1
        raise error(f"not UTF-8 text (byte 0x{data[e.start]:02x} at line {line})", file=name,
                    fix=f"save it as UTF-8, or {fix}") from None
    if not text.strip():
        raise error(f"file is empty: expected a {what}", file=name, fix=fix)
    return text


def check_folder(path: str | Path, *, what: str, fix: str, error: type[LlmplanError] = LlmplanError) -> Path:
    """`path` as a Path when it is an existing folder; an `error` naming it and `fix` otherwise."""
    p = Path(path)
    try:
        if p.is_dir():
            return p
        why = f"{what} is a file, not a folder" if p.exists() else f"{what} does not exist"
    except OSError as e:
        why = f"{what}: " + {errno.ELOOP: "a symlink loop", errno.ENAMETOOLONG: "file name too long"}.get(
            e.errno, e.strerror or type(e).__name__)
    except ValueError as e:  # a NUL byte in the path
        why = f"{what}: not a usable path ({e})"
    raise error(why, file=str(path), fix=fix)


# ---- tree checks (YAML and JSON) -------------------------------------------------------------------------------


class _Bad:
    """A value the JSON parser must not turn into a number (NaN, Infinity, a huge integer); `check_tree` names
    the field that holds it."""

    def __init__(self, why: str):
        self.why = why


class _DupDict(dict):
    """A JSON object that repeated a key: `dup` is the key."""

    dup: str = ""


def _path(parts: tuple) -> str:
    """'workloads[0] (chat).peak_rps': list items named by their `name` where they have one."""
    out = ""
    for p in parts:
        out += p if p.startswith("[") else (f".{p}" if out else p)
    return out or "(top level)"


def _item(i: int, v) -> str:
    name = v.get("name") if isinstance(v, dict) else None
    return f"[{i}]" + (f" ({_printable(name)})" if isinstance(name, str) and len(name) < 80 else "")


def _has_surrogate(s: str) -> bool:
    return any("\ud800" <= c <= "\udfff" for c in s)


def _number_problem(v) -> str | None:
    if isinstance(v, bool):
        return None
    if isinstance(v, int):
        if abs(v) > MAX_ABS:
            digits = len(str(abs(v))) if abs(v) < 10 ** 4000 else "thousands of"
            return f"integer of {digits} digits is out of range (at most {MAX_ABS:g})"
        return None
    if isinstance(v, float):
        if math.isnan(v):
            return "NaN is not a number"
        if math.isinf(v) or abs(v) > MAX_ABS:
            return f"{v!r} is out of range (at most {MAX_ABS:g} in magnitude)"
        if v != 0 and abs(v) < sys.float_info.min:
            return f"{v!r} is too small to compute with (give 0 or a number above 1e-300)"
    return None


def check_tree(data, *, file: str, fix: str, error: type[LlmplanError] = LlmplanError) -> None:
    """Raise `error` naming the field of the first value that no llmplan file may hold (see the module doc)."""
    stack = [(data, (), 0)]
    seen = 0
    while stack:
        node, parts, depth = stack.pop()
        seen += 1
        if seen > MAX_NODES:
            raise error(f"more than {MAX_NODES:,} values (YAML aliases multiplying?)", file=file, fix=fix)
        if depth > MAX_DEPTH:
            raise error(f"nested more than {MAX_DEPTH} levels deep", file=file, where=_path(parts[:8]) + "...",
                        fix=fix)
        where = _path(parts)
        if isinstance(node, _Bad):
            raise error(node.why, file=file, where=where, fix=fix)
        if isinstance(node, str):
            if _has_surrogate(node):
                raise error("text holds a lone UTF-16 surrogate (an unpaired \\ud800-\\udfff escape)", file=file,
                            where=where, fix=f"remove the escape, or {fix}")
            continue
        why = _number_problem(node)
        if why:
            raise error(why, file=file, where=where, fix=f"give a finite number in the field's range, or {fix}")
        if isinstance(node, dict):
            if isinstance(node, _DupDict) and node.dup:
                raise error(f"duplicate key '{_printable(node.dup)}'", file=file, where=where,
                            fix="keep one entry per key: with two, which one counts is not obvious")
            for k, v in node.items():
                if isinstance(k, str) and _has_surrogate(k):  # checked before _printable hides it
                    raise error("a key holds a lone UTF-16 surrogate", file=file, where=where, fix=fix)
                stack.append((v, parts + (_printable(str(k)),), depth + 1))
        elif isinstance(node, (list, tuple)):
            for i, v in enumerate(node):
                stack.append((v, parts + (_item(i, v),), depth + 1))


def _printable(s: str) -> str:
    return s.encode("utf-8", "backslashreplace").decode("utf-8")


class _OutOfRange(yaml.constructor.ConstructorError):
    """A YAML number no llmplan file may hold (named by its line: the field is not known yet)."""


# ---- JSON -------------------------------------------------------------------------------------------------------


def _pairs(pairs):
    d = _DupDict()
    for k, v in pairs:
        if k in d and not d.dup:
            d.dup = k
        d[k] = v
    return d


def _int(s: str):
    if len(s.lstrip("-")) > MAX_INT_DIGITS:
        return _Bad(f"integer of {len(s.lstrip('-'))} digits is out of range (at most {MAX_INT_DIGITS} digits)")
    return int(s)


def parse_json(text: str, *, file: str, fix: str, error: type[LlmplanError] = LlmplanError):
    """Parse and `check_tree` JSON text: NaN, Infinity, huge numbers and duplicate keys are errors."""
    try:
        data = json.loads(text, object_pairs_hook=_pairs, parse_int=_int,
                          parse_constant=lambda c: _Bad(f"{c} is not a number (JSON has no NaN or infinity)"))
    except json.JSONDecodeError as e:
        raise error(f"not valid JSON ({e.msg} at line {e.lineno}, column {e.colno})", file=file, fix=fix) from None
    except RecursionError:
        raise error(f"nested more than {MAX_DEPTH} levels deep", file=file, fix=fix) from None
    check_tree(data, file=file, fix=fix, error=error)
    return data


def load_json(path: str | Path, *, what: str, fix: str, error: type[LlmplanError] = LlmplanError):
    return parse_json(read_text(path, what=what, fix=fix, error=error), file=str(path), fix=fix, error=error)


# ---- YAML -------------------------------------------------------------------------------------------------------


class _StrictLoader(yaml.SafeLoader):
    """safe_load that rejects duplicate keys and integers too long to be a quantity (YAML merge keys `<<` keep
    their meaning: explicit keys override merged ones)."""

    def construct_mapping(self, node, deep=False):
        if isinstance(node, yaml.MappingNode):
            seen = set()
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge" or not isinstance(key_node, yaml.ScalarNode):
                    continue
                key = self.construct_object(key_node, deep=True)
                try:
                    dup = key in seen
                except TypeError:
                    continue
                if dup:
                    raise yaml.constructor.ConstructorError(
                        None, None, f"duplicate key '{_printable(str(key))}' (keep one: which one counts is not "
                        f"obvious)", key_node.start_mark)
                seen.add(key)
        return super().construct_mapping(node, deep)

    def construct_yaml_int(self, node):
        digits = sum(c.isdigit() for c in str(node.value))
        if digits > MAX_INT_DIGITS:
            raise _OutOfRange(
                None, None, f"integer of {digits} digits is out of range (at most {MAX_INT_DIGITS} digits)",
                node.start_mark)
        return super().construct_yaml_int(node)


_StrictLoader.add_constructor("tag:yaml.org,2002:int", _StrictLoader.construct_yaml_int)


def parse_yaml(text: str, *, file: str, fix: str, error: type[LlmplanError] = LlmplanError):
    """Parse and `check_tree` YAML text (one document)."""
    try:
        data = yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else None
        why = _printable(str(getattr(e, "problem", None) or str(e).splitlines()[0]))
        if isinstance(e, _OutOfRange):
            raise error(why, file=file, where=where, fix=f"give a number in the field's range, or {fix}") from None
        raise error(f"not valid YAML ({why})", file=file, where=where,
                    fix="fix the indentation, quoting or key at that line") from None
    except RecursionError:
        raise error(f"nested more than {MAX_DEPTH} levels deep", file=file, fix=fix) from None
    except ValueError as e:  # e.g. a timestamp out of range (year 0)
        raise error(f"not valid YAML ({e})", file=file, fix=fix) from None
    check_tree(data, file=file, fix=fix, error=error)
    return data


def load_yaml(path: str | Path, *, what: str, fix: str, error: type[LlmplanError] = LlmplanError):
    return parse_yaml(read_text(path, what=what, fix=fix, error=error), file=str(path), fix=fix, error=error)


# ---- CSV --------------------------------------------------------------------------------------------------------


def read_csv_rows(path: str | Path, *, what: str, fix: str, error: type[LlmplanError] = LlmplanError,
                  required: tuple[str, ...] = ()) -> list[dict]:
    """Rows of a CSV file with a header, as dicts of stripped strings (an empty cell is None).

    Errors: everything `read_text` rejects; a header that repeats a column or lacks a `required` one; a row with
    more cells than the header (named by its line: header = line 1); quoting the csv module cannot read."""
    text = read_text(path, what=what, fix=fix, error=error)
    name = str(path)
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [h.strip() for h in next(reader)]
        dup = sorted({h for h in header if header.count(h) > 1})
        if dup:
            raise error(f"the header repeats column(s) {dup}", file=name, where="line 1", fix="keep one of each")
        missing = [c for c in required if c not in header]
        if missing:
            raise error(f"not a {what}: missing columns {missing} (header: {header[:8]})", file=name,
                        where="line 1", fix=fix)
        rows = []
        for cells in reader:
            if not any(c.strip() for c in cells):
                continue
            if len(cells) > len(header):
                raise error(f"{len(cells)} cells but the header has {len(header)} columns", file=name,
                            where=f"line {reader.line_num}", fix="quote cells that hold commas, or remove the extra "
                                                                  "cells")
            rows.append({h: (c.strip() or None) for h, c in zip(header, cells + [""] * (len(header) - len(cells)))})
    except csv.Error as e:
        raise error(f"not a readable CSV ({e})", file=name, where=f"line {reader.line_num}",
                    fix="repair the CSV quoting") from None
    return rows
