"""Name normalisation: the spellings public benchmarks and clouds use for GPUs and models.

`normalize_gpu("NVIDIA H100 80GB HBM3") == normalize_gpu("H100-SXM-80GB")`-style matching is done by reducing a
name to lowercase alphanumerics after dropping vendor words, memory types and bracketed notes; each catalog row
lists its aliases, and a `NameIndex` maps every normalised alias to the canonical name.
"""

from __future__ import annotations

import re

from ..errors import did_you_mean

_BRACKETS = re.compile(r"\([^)]*\)|\[[^\]]*\]")
_GPU_NOISE = re.compile(r"\b(nvidia|amd|intel|habana|instinct|tensor ?core|gpu|hbm\d?e?|gddr\d?x?)\b")
_MODEL_SUFFIX = re.compile(r"(-|_|\s)(instruct|chat|hf|base|it|v\d+(\.\d+)?|turbo|versatile|instant)\b")
# Quantised checkpoints name the same architecture (the precision is a separate choice): nvidia/...-FP8,
# ...-AWQ-INT4, ...-GPTQ, ...-W8A8, GGUF files such as .Q4_K_M.
_QUANT_SUFFIX = re.compile(r"(-|_|\s|\.)(fp8(-dynamic)?|fp4|nvfp4|mxfp4|int4|int8|awq|gptq|w8a8|w4a16|w8a16|"
                           r"bnb-4bit|4bit|8bit|gguf|q\d(_[0-9a-z]+)*)\b")


def _alnum(s: str) -> str:
    return re.sub(r"[^a-z0-9]", "", s.lower())


def normalize_gpu(name: str) -> str:
    s = _BRACKETS.sub(" ", name.lower())
    s = _GPU_NOISE.sub(" ", s)
    return _alnum(s)


def normalize_model(name: str) -> str:
    s = name.strip().lower()
    if "/" in s:
        s = s.rsplit("/", 1)[1]
    s = _BRACKETS.sub(" ", s)
    prev = None
    while prev != s:
        prev = s
        s = _QUANT_SUFFIX.sub("", s)
        s = _MODEL_SUFFIX.sub("", s)
    s = re.sub(r"^meta-", "", s)
    return _alnum(s)


class NameIndex:
    """Canonical names plus aliases, looked up by normalised spelling."""

    def __init__(self, kind: str, normalize, entries: dict[str, list[str]]):
        self.kind = kind
        self._normalize = normalize
        self._canon = list(entries)
        self._map: dict[str, str] = {}
        for canon, aliases in entries.items():
            for alias in [canon, *aliases]:
                key = normalize(alias)
                other = self._map.get(key)
                if other is not None and other != canon:
                    raise ValueError(f"{kind} alias '{alias}' is claimed by both {other} and {canon}")
                self._map[key] = canon

    def get(self, name: str) -> str | None:
        return self._map.get(self._normalize(name))

    def resolve(self, name: str) -> str:
        """Canonical name, or KeyError whose message carries a did-you-mean."""
        canon = self.get(name)
        if canon is None:
            raise KeyError(f"unknown {self.kind} '{name}'.{did_you_mean(name, self._canon)}")
        return canon

    def names(self) -> list[str]:
        return list(self._canon)


# What a quantised checkpoint's name implies about its precision (the weights are stored that way: serving it at
# another precision would be another checkpoint). GGUF k-quants of 4-5 bits are planned as int4 weight-only.
_IMPLIED = [
    (re.compile(r"(^|[-_\s.])(awq|gptq|int4|w4a16|bnb-4bit|4bit|q4(_[0-9a-z]+)*|q5(_[0-9a-z]+)*)\b"), "int4"),
    (re.compile(r"(^|[-_\s.])(nvfp4|mxfp4|fp4)\b"), "fp4"),
    (re.compile(r"(^|[-_\s.])(fp8(-dynamic)?)\b"), "fp8"),
    (re.compile(r"(^|[-_\s.])(int8|w8a8|w8a16|8bit|q8(_[0-9a-z]+)*)\b"), "int8"),
]


def implied_precision(name: str) -> tuple[str, str] | None:
    """(precision, the spelling that implies it) for a quantised checkpoint name ('...-AWQ' -> int4), else None."""
    s = name.strip().lower()
    if "/" in s:
        s = s.rsplit("/", 1)[1]
    for pattern, precision in _IMPLIED:
        m = pattern.search(s)
        if m:
            return precision, m.group(2)
    return None
