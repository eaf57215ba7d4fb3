"""Interval estimates for rates from campaigns."""
from __future__ import annotations

import math

Z95 = 1.959963984540054      # the normal quantile of 0.975


def wilson(k: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval for k successes in n trials (95% by default); (nan, nan) when n is 0.
    Unlike the normal approximation it stays inside [0, 1] and is sound near 0% and 100%."""
    if not (isinstance(k, int) and isinstance(n, int)) or n < 0 or not 0 <= k <= n:
        raise ValueError(f"wilson(k={k!r}, n={n!r}) is invalid: allowed ints with 0 <= k <= n")
    if n == 0:
        return (math.nan, math.nan)
    p = k / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    # at k = 0 and k = n the bound is exactly 0 or 1 (the formula leaves rounding residue like 7e-16)
    return (0.0 if k == 0 else max(0.0, centre - half), 1.0 if k == n else min(1.0, centre + half))


def half_width(n: int, p: float = 0.5, z: float = Z95) -> float:
    """Half width of the Wilson interval at rate `p` with `n` trials (how large a campaign must be)."""
    lo, hi = wilson(round(p * n), n, z)
    return (hi - lo) / 2
