"""Click parameter types that validate every command-line option where it is parsed.

A bad value ends in click's usage error (exit 2) that names the option, says what is wrong and gives an example
of a good value: `Invalid value for '--gap': 2 is not in [0, 1): give e.g. 0.01`. NaN and infinities are never
numbers here. Output paths are checked before any work is done: not a folder, not below a file, a name the file
system can hold.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import click


def _range(lo, hi, lo_open: bool, hi_open: bool) -> str:
    return f"{'(' if lo_open else '['}{lo:g}, {hi:g}{')' if hi_open else ']'}"


class Number(click.ParamType):
    """A finite float in a range; `example` is shown in the error."""

    name = "number"

    def __init__(self, lo: float, hi: float, *, example: str, lo_open: bool = False, hi_open: bool = False):
        self.lo, self.hi, self.example, self.lo_open, self.hi_open = lo, hi, example, lo_open, hi_open

    def convert(self, value, param, ctx):
        try:
            v = float(value)
        except (TypeError, ValueError, OverflowError):
            self.fail(f"{value!r} is not a number: give e.g. {self.example}", param, ctx)
        if not math.isfinite(v):
            self.fail(f"{value!r} is not a finite number: give e.g. {self.example}", param, ctx)
        below = v < self.lo or (self.lo_open and v == self.lo)
        above = v > self.hi or (self.hi_open and v == self.hi)
        if below or above:
            self.fail(f"{v:g} is not in {_range(self.lo, self.hi, self.lo_open, self.hi_open)}: give e.g. "
                      f"{self.example}", param, ctx)
        return v


class Whole(click.ParamType):
    """An integer in [lo, hi]."""

    name = "integer"

    def __init__(self, lo: int, hi: int, *, example: str):
        self.lo, self.hi, self.example = lo, hi, example

    def convert(self, value, param, ctx):
        if isinstance(value, int) and not isinstance(value, bool):
            v = value
        else:
            text = str(value).strip()
            if len(text.lstrip("+-")) > 30 or not text.lstrip("+-").isdigit():
                self.fail(f"{value!r} is not a whole number in [{self.lo}, {self.hi}]: give e.g. {self.example}",
                          param, ctx)
            v = int(text)
        if not self.lo <= v <= self.hi:
            self.fail(f"{v} is not in [{self.lo}, {self.hi}]: give e.g. {self.example}", param, ctx)
        return v


class Text(click.ParamType):
    """Free text that is written into files: printable, no lone surrogates (bytes the terminal could not decode)."""

    name = "text"

    def __init__(self, *, example: str, max_len: int = 500):
        self.example, self.max_len = example, max_len

    def convert(self, value, param, ctx):
        v = str(value)
        if any("\ud800" <= c <= "\udfff" for c in v):
            self.fail("holds bytes that are not UTF-8: give e.g. " + self.example, param, ctx)
        if any(ord(c) < 32 and c not in "\t" for c in v) or not v.strip() or len(v) > self.max_len:
            self.fail(f"give one printable line of at most {self.max_len} characters, e.g. {self.example}", param,
                      ctx)
        return v


class WholeOr(Whole):
    """A word (e.g. 'max') or an integer in [lo, hi]."""

    def __init__(self, word: str, lo: int, hi: int, *, example: str):
        super().__init__(lo, hi, example=example)
        self.word = word
        self.name = f"{word}|integer"

    def convert(self, value, param, ctx):
        if str(value).strip().lower() == self.word:
            return self.word
        return str(super().convert(value, param, ctx))


class InputPath(click.Path):
    """An input file or folder path; the loaders report what is wrong with it (missing, a folder, ...), this only
    refuses an empty one (which would mean the current folder)."""

    def __init__(self):
        super().__init__(path_type=Path)

    def convert(self, value, param, ctx):
        if not str(value).strip():
            self.fail("is empty: give a path", param, ctx)
        return super().convert(value, param, ctx)


def _path_problem(p: Path, want_dir: bool) -> str | None:
    """Why a file (or folder) could not be created at `p`, or None."""
    text = str(p)
    if not text.strip():
        return "is empty"
    if "\x00" in text:
        return "holds a NUL character"
    try:
        os.fsencode(text)
    except UnicodeError:
        return "holds characters the file system cannot store"
    for part in p.parts:
        if len(os.fsencode(part)) > 255:
            return f"has a name longer than 255 bytes ({part[:20]}...)"
    if p.is_dir() and not want_dir:
        return "is a folder: give a file name inside it"
    if p.exists() and want_dir and not p.is_dir():
        return "is a file: give a folder"
    for parent in p.absolute().parents:
        if parent.exists() or parent.is_symlink():
            if not parent.is_dir():
                return f"{parent} is a file, not a folder"
            if not os.access(parent, os.W_OK | os.X_OK):
                return f"{parent} is not writable"
            break
    return None


class OutputPath(click.ParamType):
    """A file to write (or, with `folder=True`, a folder to write into): checked before any work is done."""

    name = "path"

    def __init__(self, *, folder: bool = False, example: str = "plan.json"):
        self.folder, self.example = folder, example

    def convert(self, value, param, ctx):
        p = Path(value)
        why = _path_problem(p, self.folder)
        if why:
            self.fail(f"{str(value)!r} {why}: give e.g. {self.example}", param, ctx)
        return p
