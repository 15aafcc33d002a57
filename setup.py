"""Build hook: ship the newest dated catalog as package data, so an installed llmplan finds its default catalog
outside the checkout. Everything else about the package is in pyproject.toml.

`build_py` copies `catalogs/<newest date>/{gpus,offers,models,apis}.csv` and `catalogs/README.md` (sources,
licences, labelled assumptions) to `optimizer/catalog/_default/<date>/` in the build; the loader
(`optimizer/catalog/load.py`) looks there last, after $LLMPLAN_CATALOGS and a `catalogs/` folder. Editable installs
read the checkout's `catalogs/` directly and skip the copy.
"""

import re
import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

DATE_DIR = re.compile(r"^\d{4}-\d{2}-\d{2}$")
KINDS = ("gpus", "offers", "models", "apis")
OPTIONAL_KINDS = ("grid",)  # shipped when the newest folder has them


class BuildPyWithCatalog(build_py):
    def run(self):
        super().run()
        if getattr(self, "editable_mode", False):
            return
        root = Path(__file__).resolve().parent / "catalogs"
        dated = sorted(p for p in root.iterdir() if p.is_dir() and DATE_DIR.match(p.name)) if root.is_dir() else []
        if not dated:
            raise SystemExit(f"llmplan build: no dated catalog folder under {root} to ship as the default catalog")
        dest = Path(self.build_lib) / "optimizer" / "catalog" / "_default" / dated[-1].name
        dest.mkdir(parents=True, exist_ok=True)
        for kind in KINDS:
            shutil.copyfile(dated[-1] / f"{kind}.csv", dest / f"{kind}.csv")
        for kind in OPTIONAL_KINDS:
            if (dated[-1] / f"{kind}.csv").exists():
                shutil.copyfile(dated[-1] / f"{kind}.csv", dest / f"{kind}.csv")
        shutil.copyfile(root / "README.md", dest / "README.md")


setup(cmdclass={"build_py": BuildPyWithCatalog})
