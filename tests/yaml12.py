"""A YAML 1.2 (core schema) reader built on PyYAML, for tests: what editors that follow YAML 1.2 (the
yaml-language-server, ruamel.yaml) see in a file that PyYAML reads as YAML 1.1.

The core schema resolves only: null (~, null, empty), booleans (true/false in three casings), integers (decimal,
0o octal, 0x hex) and floats (with an optional exponent, .inf, .nan). Everything else is a string, in particular
`8_000_000`, `yes`/`no`/`on`/`off`, `1:20` (sexagesimal) and dates, which YAML 1.1 reads as numbers, booleans and
dates. PyYAML's own constructors follow 1.1 (a leading 0 is octal), so ints and floats get their own here.
"""

from __future__ import annotations

import re

import yaml


class Yaml12Loader(yaml.SafeLoader):
    yaml_implicit_resolvers: dict = {}


def _resolver(tag: str, pattern: str, first: str | list) -> None:
    Yaml12Loader.add_implicit_resolver(tag, re.compile(pattern, re.X), list(first))


_resolver("tag:yaml.org,2002:null", r"^(?:~|null|Null|NULL|)$", ["~", "n", "N", ""])
_resolver("tag:yaml.org,2002:bool", r"^(?:true|True|TRUE|false|False|FALSE)$", "tTfF")
_resolver("tag:yaml.org,2002:int", r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$", "-+0123456789")
_resolver("tag:yaml.org,2002:float",
          r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$",
          "-+.0123456789")


def _int(loader, node):
    v = loader.construct_scalar(node)
    if v.startswith("0o"):
        return int(v[2:], 8)
    if v.startswith("0x"):
        return int(v[2:], 16)
    return int(v, 10)


def _float(loader, node):
    v = loader.construct_scalar(node).lower()
    if v.endswith(".inf"):
        return float("-inf") if v.startswith("-") else float("inf")
    if v == ".nan":
        return float("nan")
    return float(v)


Yaml12Loader.add_constructor("tag:yaml.org,2002:int", _int)
Yaml12Loader.add_constructor("tag:yaml.org,2002:float", _float)
Yaml12Loader.add_constructor("tag:yaml.org,2002:bool", lambda loader, node: loader.construct_scalar(node).lower() == "true")


def load12(text: str):
    return yaml.load(text, Loader=Yaml12Loader)  # noqa: S506 (a SafeLoader subclass)
