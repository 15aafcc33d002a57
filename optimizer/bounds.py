"""Physical bounds on every number a problem or catalog row may hold, written once for the schemas.

A value outside them is bad input (exit 2, naming the file and field), never something to compute with: the
bounds keep every coefficient of the model between about 1e-6 and 1e15, so that nothing that passes validation
overflows, divides by zero or drowns in the solver's tolerances later. They are generous: a valid plan for
1 to 1e11 requests/month, 1 to 10M tokens, any real GPU or price is inside them.

Limits on work live here too: `DEFAULT_TIME_LIMIT_S` (each solver call, HiGHS and CBC, unless the caller gives
its own) and `MAX_SIM_ARRIVALS` (the most requests `simulate` replays).

`num(lo, hi)` is a finite float in [lo, hi] (`gt=True`: (lo, hi]); `whole(lo, hi)` an int in [lo, hi];
`Fraction` is 0 or a number in [MIN_FRACTION, 1]; `PastDate` a date no later than today (a figure cannot have
been checked in the future).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import AfterValidator, Field

MAX_REQUESTS_PER_MONTH = 1e15
MAX_RPS = 1e9
MAX_TOKENS = 10_000_000
MAX_USD_PER_HOUR = 1e5  # an instance-hour
MAX_USD_PER_MONTH = 1e13
MAX_USD_PER_MTOK = 1e4
MIN_USD_PER_HOUR = 1e-4
MIN_FRACTION = 1e-6
MAX_GPUS = 1_000_000

DEFAULT_TIME_LIMIT_S = 60.0
MAX_SIM_ARRIVALS = 5_000_000


def num(lo: float, hi: float, *, gt: bool = False):
    """A finite float in [lo, hi], or (lo, hi] with gt=True."""
    return Annotated[float, Field(gt=lo, le=hi, allow_inf_nan=False) if gt else
                     Field(ge=lo, le=hi, allow_inf_nan=False)]


def whole(lo: int, hi: int):
    """An integer in [lo, hi]."""
    return Annotated[int, Field(ge=lo, le=hi)]


def _fraction(v: float) -> float:
    if 0 < v < MIN_FRACTION:
        raise ValueError(f"{v:g} is below {MIN_FRACTION:g}: give 0, or a fraction of at least {MIN_FRACTION:g}")
    return v


def _past(d: dt.date) -> dt.date:
    if d > dt.date.today():
        raise ValueError(f"{d} is in the future: give the date the figure was read (today or earlier)")
    return d


Fraction = Annotated[float, Field(ge=0, le=1, allow_inf_nan=False), AfterValidator(_fraction)]
PastDate = Annotated[dt.date, AfterValidator(_past)]
