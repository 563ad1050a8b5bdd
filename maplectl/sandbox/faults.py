"""Fault injection and request counters, shared by every thread of one sandbox.

A fault applies to one route (``"POST /credits"``: method and path template without the company
prefix) or to all (``"*"``); either for the next ``count`` matching requests, or to each with
``probability`` drawn from a ``seed``ed generator, or both (each request with that probability,
at most ``count`` times), or, with neither, until cleared. Drawing is done under a lock, so a
counted fault fires exactly ``count`` times however many threads race for it.
"""

from __future__ import annotations

import random
import secrets
import threading
from dataclasses import dataclass, field
from typing import Any

KINDS = (
    "latency",
    "rate_limit",
    "error_before_commit",
    "error_after_commit",
    "drop_after_commit",
    "slow_commit",
    "find_lag",
)
_KNOWN_FIELDS = {"kind", "route", "count", "probability", "seed", "ms", "retry_after", "seconds"}


class FaultSpecError(ValueError):
    """A fault definition that cannot work; ``field`` says which part."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True, slots=True)
class FaultSpec:
    """One fault as the control API accepts it.

    ``ms`` is the delay of ``latency`` and ``slow_commit``; ``retry_after`` the seconds sent
    with ``rate_limit``; ``seconds`` the lag of ``find_lag``.
    """

    kind: str
    route: str = "*"
    count: int | None = None
    probability: float | None = None
    seed: int | None = None
    ms: int = 0
    retry_after: int = 1
    seconds: float = 0.0

    @classmethod
    def from_json(cls, data: Any) -> FaultSpec:
        """Check and build a fault from its JSON form."""
        if not isinstance(data, dict):
            raise FaultSpecError("body", "a fault is a JSON object")
        unknown = sorted(set(data) - _KNOWN_FIELDS)
        if unknown:
            raise FaultSpecError(unknown[0], "unknown field")
        if data.get("kind") not in KINDS:
            raise FaultSpecError("kind", f"one of {', '.join(KINDS)}")
        route = data.get("route", "*")
        if not isinstance(route, str) or (route != "*" and " /" not in route):
            raise FaultSpecError("route", '"*" or "<METHOD> <path template>"')
        count = data.get("count")
        if count is not None and (type(count) is not int or count < 1):
            raise FaultSpecError("count", "an integer >= 1")
        probability = data.get("probability")
        if probability is not None and (
            isinstance(probability, bool)
            or not isinstance(probability, int | float)
            or not 0 <= probability <= 1
        ):
            raise FaultSpecError("probability", "a number from 0 to 1")
        for name in ("seed", "ms", "retry_after"):
            value = data.get(name)
            if value is not None and (type(value) is not int or value < 0):
                raise FaultSpecError(name, "an integer >= 0")
        seconds = data.get("seconds", 0)
        if isinstance(seconds, bool) or not isinstance(seconds, int | float) or seconds < 0:
            raise FaultSpecError("seconds", "a number >= 0")
        return cls(
            kind=data["kind"],
            route=route,
            count=count,
            probability=None if probability is None else float(probability),
            seed=data.get("seed"),
            ms=data.get("ms") or 0,
            retry_after=1 if data.get("retry_after") is None else data["retry_after"],
            seconds=float(seconds),
        )

    def to_json(self) -> dict[str, Any]:
        """The JSON form (what ``from_json`` accepts)."""
        return {
            "kind": self.kind,
            "route": self.route,
            "count": self.count,
            "probability": self.probability,
            "seed": self.seed,
            "ms": self.ms,
            "retry_after": self.retry_after,
            "seconds": self.seconds,
        }


@dataclass(frozen=True, slots=True)
class Effects:
    """The faults that fired for one request."""

    latency_ms: int = 0
    rate_limit: int | None = None  # Retry-After seconds
    error_before_commit: bool = False
    error_after_commit: bool = False
    drop_after_commit: bool = False
    slow_commit_ms: int = 0
    find_lag_seconds: float = 0.0


@dataclass(slots=True)
class _Armed:
    id: str
    spec: FaultSpec
    remaining: int | None
    rng: random.Random
    fired: int = 0


@dataclass(slots=True)
class FaultBook:
    """The active faults; thread-safe."""

    _faults: list[_Armed] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, spec: FaultSpec) -> str:
        """Arm a fault; returns its id."""
        armed = _Armed(f"flt_{secrets.token_hex(6)}", spec, spec.count, random.Random(spec.seed))
        with self._lock:
            self._faults.append(armed)
        return armed.id

    def remove(self, fault_id: str) -> bool:
        """Disarm one fault; False if there was none with that id."""
        with self._lock:
            before = len(self._faults)
            self._faults = [f for f in self._faults if f.id != fault_id]
            return len(self._faults) != before

    def clear(self) -> None:
        """Disarm every fault."""
        with self._lock:
            self._faults.clear()

    def list(self) -> list[dict[str, Any]]:
        """Every armed fault with what is left of it."""
        with self._lock:
            return [
                {"id": f.id, **f.spec.to_json(), "remaining": f.remaining, "fired": f.fired}
                for f in self._faults
            ]

    def draw(self, route: str) -> Effects:
        """Decide, atomically, which faults fire for one request to ``route``."""
        fired: dict[str, Any] = {}
        is_find = route.endswith("/find")
        with self._lock:
            for armed in self._faults:
                spec = armed.spec
                if spec.route not in ("*", route) or (spec.kind == "find_lag" and not is_find):
                    continue
                if armed.remaining is not None and armed.remaining <= 0:
                    continue
                if spec.probability is not None and armed.rng.random() >= spec.probability:
                    continue
                if armed.remaining is not None:
                    armed.remaining -= 1
                armed.fired += 1
                if spec.kind == "latency":
                    fired["latency_ms"] = fired.get("latency_ms", 0) + spec.ms
                elif spec.kind == "rate_limit":
                    fired["rate_limit"] = spec.retry_after
                elif spec.kind == "slow_commit":
                    fired["slow_commit_ms"] = fired.get("slow_commit_ms", 0) + spec.ms
                elif spec.kind == "find_lag":
                    fired["find_lag_seconds"] = max(
                        fired.get("find_lag_seconds", 0.0), spec.seconds
                    )
                else:
                    fired[spec.kind] = True
            self._faults = [f for f in self._faults if f.remaining is None or f.remaining > 0]
        return Effects(**fired)


@dataclass(slots=True)
class Counters:
    """Requests per route (``"POST /credits/find"``); thread-safe."""

    _counts: dict[str, int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def bump(self, route: str) -> None:
        """Count one request."""
        with self._lock:
            self._counts[route] = self._counts.get(route, 0) + 1

    def snapshot(self) -> dict[str, Any]:
        """``{"routes": {route: n}, "total": n}``, routes sorted."""
        with self._lock:
            routes = dict(sorted(self._counts.items()))
        return {"routes": routes, "total": sum(routes.values())}

    def reset(self) -> None:
        """Back to zero."""
        with self._lock:
            self._counts.clear()
