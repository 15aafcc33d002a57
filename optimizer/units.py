"""Units and conventions shared by every module.

Money is USD per month; a month is 730 hours (8,760 / 12), the convention of cloud price pages and infracost.
Memory is GiB (2**30 bytes) unless a field name says otherwise; bandwidth is TB/s (1e12 bytes/s); compute is
TFLOPS (1e12 FLOP/s, dense, no sparsity).
"""

HOURS_PER_MONTH = 730.0
SECONDS_PER_MONTH = HOURS_PER_MONTH * 3600.0
GIB = float(2**30)
GB = 1e9
TB = 1e12
TFLOP = 1e12
MTOK = 1e6


def monthly(hourly_usd: float, hours: float = HOURS_PER_MONTH) -> float:
    """USD per month for an hourly price running `hours` per month (730 = always on)."""
    return hourly_usd * hours


def avg_rps(requests_per_month: float) -> float:
    """Average requests per second for a monthly volume."""
    return requests_per_month / SECONDS_PER_MONTH
