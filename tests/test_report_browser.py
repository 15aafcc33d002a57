"""The HTML report opened in a real headless browser (Debian's chromium): its screenshot shows both charts.
Skipped only where no browser is installed. The screenshot is kept in artifacts/ (not in git)."""

import shutil
import subprocess
from pathlib import Path

import pytest

from optimizer.catalog import load_catalog
from optimizer.planner import plan
from optimizer.problem import load_problem
from optimizer.render.html import to_html

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "artifacts"
BROWSER = next((shutil.which(b) for b in ("chromium", "chromium-browser", "google-chrome") if shutil.which(b)), None)
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync", "--hide-scrollbars"]


def _count(img, rgb, tol=24) -> int:
    """Pixels within `tol` of an RGB colour."""
    r0, g0, b0 = rgb
    data = img.tobytes()
    return sum(1 for i in range(0, len(data), 3) if abs(data[i] - r0) <= tol and abs(data[i + 1] - g0) <= tol
               and abs(data[i + 2] - b0) <= tol)


@pytest.mark.skipif(BROWSER is None, reason="no chromium installed")
def test_html_report_screenshot_shows_both_charts(tmp_path):
    Image = pytest.importorskip("PIL.Image")
    p = plan(load_problem(ROOT / "problems" / "seed_exercise_33_5_2.yaml"),
             load_catalog(ROOT / "catalogs" / "2026-12-03"), explain=True)
    page = tmp_path / "report.html"
    page.write_text(to_html(p))
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "report_seed_exercise.png"
    shot.unlink(missing_ok=True)
    subprocess.run([BROWSER, *FLAGS, f"--user-data-dir={tmp_path / 'profile'}", "--window-size=1200,2000",
                    f"--screenshot={shot}", page.as_uri()], check=True, capture_output=True, timeout=120)
    img = Image.open(shot).convert("RGB")
    assert img.size == (1200, 2000)
    # cost-vs-volume chart: API line (blue), self-hosted steps (orange), breakeven markers (red)
    assert _count(img, (0x1F, 0x77, 0xB4)) > 300
    assert _count(img, (0xFF, 0x7F, 0x0E)) > 300
    assert _count(img, (0xD6, 0x27, 0x28)) > 50
    # budget chart: its bars (green first)
    assert _count(img, (0x2C, 0xA0, 0x2C)) > 1000
