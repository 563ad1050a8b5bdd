"""RFC 3339 timestamps, read one way everywhere: manifests, matching and apply. Pure.

Validation accepts exactly what :func:`parse_timestamp` reads, and matching reads instants with
the same function, so a value that passed validation can never be silently ignored later (a
lower-case ``t``/``z`` or a leap second once was).
"""

from __future__ import annotations

import datetime as dt
import functools
import re

RFC3339 = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})"
)


@functools.lru_cache(maxsize=4096)  # the same few dates recur across thousands of manifests
def parse_timestamp(text: str) -> dt.datetime | None:
    """An RFC 3339 timestamp with an explicit zone as an aware datetime; None if it is not one."""
    match = RFC3339.fullmatch(text)
    if match is None:
        return None
    year, month, day, hour, minute, second = (int(g) for g in match.groups()[:6])
    fraction, zone = match.group(7), match.group(8)
    micros = int((fraction[1:] + "000000")[:6]) if fraction else 0
    if zone in {"Z", "z"}:
        tz = dt.UTC
    else:
        sign = 1 if zone[0] == "+" else -1
        offset = dt.timedelta(hours=int(zone[1:3]), minutes=int(zone[4:6]))
        if offset >= dt.timedelta(hours=24):
            return None
        tz = dt.timezone(sign * offset)
    second = min(second, 59)  # a leap second is accepted and read as :59
    try:
        return dt.datetime(year, month, day, hour, minute, second, micros, tzinfo=tz)
    except ValueError:
        return None
