"""A catalog folder for the service tests: two versions of the synthetic catalog of helpers.py, the second with
cloudA's one-GPU instance 20% cheaper (so a plan diff has a price change to name)."""

from __future__ import annotations

from pathlib import Path

from helpers import OFFERS, measured, offer, serving, write_catalog

OLD, NEW = "2026-11-24", "2026-12-01"


def write_catalog_root(root: Path) -> Path:
    write_catalog(root / OLD)
    cheaper = [offer("clouda:us-a:one", "clouda", "us-a", "us", 1, 0.80, spot=0.40)] + OFFERS[1:]
    write_catalog(root / NEW, offers=cheaper)
    (root / "_notes").mkdir()  # not a dated folder: never a version
    return root


def problem(peak: float = 30.0, apis=("apix/tiny-8b",), **kw) -> dict:
    """One serving workload of 1M requests/month at `peak` req/s; a replica serves 10 req/s (measured), 8.5 at
    the default 85% utilisation. At peak 25 the API costs $0.002 a request ($2,000/month) and three one-GPU
    replicas $2,190 (catalog OLD, $1.00/h) or $1,752 (NEW, $0.80/h)."""
    return {"name": f"svc-{peak:g}", "workloads": [serving("w", peak=peak, apis=list(apis), **kw)],
            "measured": [measured("w", rps=10.0)]}
