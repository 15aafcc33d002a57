"""Benchmark: importing the whole SkyPilot data set (catalogs/_sources/skypilot) into a fresh catalog folder.

Run from the repository root:  python bench/bench_import.py [--runs 5] [--scale 1]

Figures are reported with a baseline measured in the same run, so they compare across machines:
- the import (read, normalise, GCP host join, aggregate per region, assumptions, validate, write atomically)
  against reading the same CSV files with pandas and nothing else (the I/O floor of any importer);
- the whole `llmplan catalog import skypilot` process against a process that only imports the dependencies.
`--scale N` repeats every source row N times (as N snapshots of the same clouds would) to show how the import
grows with the input. Target (issue 5): the whole shared SkyPilot data set imports in under 10 s.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from optimizer.catalog.build import import_skypilot_into  # noqa: E402
from timing import median_time  # noqa: E402

SKY = ROOT / "catalogs" / "_sources" / "skypilot"
DEFAULT = ROOT / "catalogs" / "2026-12-03"
CURATED = ROOT / "catalogs" / "_curated"
TARGET_S = 10.0




def seed(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for kind in ("gpus", "models"):
        shutil.copyfile(DEFAULT / f"{kind}.csv", folder / f"{kind}.csv")
    shutil.copyfile(CURATED / "offers_listprice.csv", folder / "offers.csv")
    shutil.copyfile(CURATED / "apis_extra.csv", folder / "apis.csv")
    return folder


def scaled_sources(tmp: Path, scale: int) -> Path:
    """The source files with every row repeated `scale` times (same clouds, more rows)."""
    if scale == 1:
        return SKY
    out = tmp / "sources"
    out.mkdir()
    for f in SKY.glob("*_vms.csv"):
        df = pd.read_csv(f, dtype=str, keep_default_na=False)
        pd.concat([df] * scale, ignore_index=True).to_csv(out / f.name, index=False)
    shutil.copyfile(SKY / "provenance.yaml", out / "provenance.yaml")
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--scale", type=int, default=1)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        src = scaled_sources(tmp, args.scale)
        files = sorted(src.glob("*_vms.csv"))
        rows = sum(len(pd.read_csv(f, dtype=str, keep_default_na=False)) for f in files)

        def read_only():
            for f in files:
                pd.read_csv(f, dtype=str, keep_default_na=False)

        n = [0]

        def full_import():
            n[0] += 1
            into = seed(tmp / f"run{n[0]}" / "2026-12-03")
            import_skypilot_into([src], into, discounts=CURATED / "commitment_discounts.csv",
                                 spot_rates=CURATED / "spot_interruption.csv")

        t_read = median_time(read_only, args.runs)
        t_import = median_time(full_import, args.runs)

        py = sys.executable
        into = seed(tmp / "cli" / "2026-12-03")

        def cli():
            subprocess.run([py, "-m", "cli", "catalog", "import", "skypilot", str(src), "--into", str(into)],
                           cwd=ROOT, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

        def bare():
            subprocess.run([py, "-c", "import pandas, pydantic, click, yaml"], cwd=ROOT, check=True)

        t_cli = median_time(cli, args.runs)
        t_bare = median_time(bare, args.runs)

    print(f"SkyPilot import: {len(files)} files, {rows:,} rows (scale {args.scale}), median of {args.runs} runs")
    print(f"  baseline: pandas read of the same files     {t_read:8.3f} s")
    print(f"  import into a fresh catalog folder          {t_import:8.3f} s   = {t_import / t_read:5.1f}x the read "
          f"baseline   ({rows / t_import:,.0f} rows/s)")
    print(f"  baseline: process importing the dependencies {t_bare:7.3f} s")
    print(f"  whole `llmplan catalog import skypilot` call {t_cli:7.3f} s   = {t_cli / t_bare:5.1f}x the bare "
          f"process")
    verdict = "meets" if t_cli < TARGET_S else "MISSES"
    print(f"  target: whole data set under {TARGET_S:.0f} s -> {verdict} ({t_cli:.2f} s, "
          f"{TARGET_S / t_cli:.0f}x headroom)")


if __name__ == "__main__":
    main()
