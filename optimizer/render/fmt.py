"""Number formatting shared by the text renderers."""

from __future__ import annotations


def usd(v: float | None, cents: bool = True) -> str:
    if v is None:
        return "-"
    return f"${v:,.2f}" if cents else f"${v:,.0f}"


def unit_usd(v: float) -> str:
    """Unit prices: enough digits to be meaningful for per-request figures."""
    if v == 0:
        return "$0"
    if abs(v) >= 1:
        return f"${v:,.2f}"
    if abs(v) >= 0.01:
        return f"${v:.4f}"
    return f"${v:.6f}"


def qty(v: float) -> str:
    if abs(v - round(v)) < 1e-9:
        return f"{int(round(v)):,}"
    return f"{v:,.2f}"


def pct(v: float | None, digits: int = 1) -> str:
    return "-" if v is None else f"{100 * v:.{digits}f}%"


def delta(usd_delta: float | None, percent: float | None, sep: str = " ") -> str:
    """'+12.50 (+3.1%)' (sep=' '), or '+12.50, +3.1%' (sep=', '); either part may be None (no percent against a
    $0 plan)."""
    money = "-" if usd_delta is None else f"{usd_delta:+,.2f}"
    if percent is None:
        return money
    return f"{money} ({percent:+.1f}%)" if sep == " " else f"{money}{sep}{percent:+.1f}%"
