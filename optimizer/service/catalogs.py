"""The catalog folder a service is configured with, and the only paths it reads.

A request names a catalog by version (`2026-11-24`, or `latest`). The version must be one of the dated folders
listed in the configured root, and that folder must resolve inside the root (a symbolic link out of it is not a
version), so no request can make the service read anything else: no path from a request is ever joined to the
root. Loaded catalogs are cached per folder and reloaded when a file in it changes.
"""

from __future__ import annotations

import re
import threading
from pathlib import Path

from ..catalog import Catalog, load_catalog
from ..catalog.load import ALL_FILES, load_catalog_specs
from ..errors import CatalogError, LlmplanError, did_you_mean

DATE_DIR = re.compile(r"^\d{4}-\d{2}-\d{2}$")
VERSION_PATTERN = r"^(latest|\d{4}-\d{2}-\d{2})$"


def signature(folder: Path) -> tuple:
    """What identifies a catalog folder's content cheaply: each file's modification time and size."""
    out = []
    for kind in ALL_FILES:
        try:
            st = (folder / f"{kind}.csv").stat()
            out.append((kind, st.st_mtime_ns, st.st_size))
        except FileNotFoundError:
            out.append((kind, None, None))
    return tuple(out)


class CatalogRoot:
    def __init__(self, root: str | Path):
        self.root = Path(root).resolve()
        if not self.root.is_dir():
            raise CatalogError("catalog folder does not exist", file=str(root),
                               fix="pass --catalog-root DIR, a folder holding dated catalog folders (catalogs/)")
        self._lock = threading.Lock()
        self._cache: dict[tuple[str, str], tuple[tuple, Catalog]] = {}

    def versions(self) -> list[str]:
        out = []
        for p in self.root.iterdir():
            if p.is_dir() and DATE_DIR.match(p.name) and p.resolve().is_relative_to(self.root):
                out.append(p.name)
        return sorted(out)

    def default(self) -> str:
        versions = self.versions()
        if not versions:
            raise CatalogError("no catalog version in the configured catalog folder", file=str(self.root),
                               fix="add a dated catalog folder (YYYY-MM-DD) to it")
        return versions[-1]

    def folder(self, version: str | None) -> Path:
        """The folder of `version` (None or 'latest': the newest); an error naming the versions otherwise."""
        if version is None or version == "latest":
            return self.root / self.default()
        versions = self.versions()
        if version not in versions:
            raise LlmplanError(f"unknown catalog version '{version}'.{did_you_mean(str(version), versions)}",
                               where="catalog", fix=f"use one of: latest, {', '.join(versions)}")
        return self.root / version

    def _cached(self, version: str | None, what: str, load) -> Catalog:
        folder = self.folder(version)
        sig = signature(folder)
        key = (folder.name, what)
        with self._lock:
            hit = self._cache.get(key)
            if hit and hit[0] == sig:
                return hit[1]
        cat = load(folder)
        with self._lock:
            self._cache[key] = (sig, cat)
        return cat

    def load(self, version: str | None) -> Catalog:
        return self._cached(version, "full", load_catalog)

    def load_specs(self, version: str | None) -> Catalog:
        """GPUs and models only (what `estimate` needs)."""
        return self._cached(version, "specs", load_catalog_specs)
