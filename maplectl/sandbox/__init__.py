"""The maplectl sandbox: a local, strict, Maple-compatible API server with SQLite state.

Use it in process (``httpx.WSGITransport(app=sandbox.app)``), in a thread
(``serve_in_thread``), or as a server (``maplectl sandbox serve``). See docs/sandbox.md.
"""

from __future__ import annotations

from maplectl.sandbox.app import DropConnection
from maplectl.sandbox.clock import Clock, ManualClock, SystemClock
from maplectl.sandbox.faults import FaultSpec
from maplectl.sandbox.sandbox import Sandbox
from maplectl.sandbox.seed import DEMO_SEED, DEMO_SEED_COMPANY
from maplectl.sandbox.server import RunningServer, run_server, serve_in_thread
from maplectl.sandbox.session import Session
from maplectl.sandbox.store import Store

__all__ = [
    "DEMO_SEED",
    "DEMO_SEED_COMPANY",
    "Clock",
    "DropConnection",
    "FaultSpec",
    "ManualClock",
    "RunningServer",
    "Sandbox",
    "Session",
    "Store",
    "SystemClock",
    "run_server",
    "serve_in_thread",
]
