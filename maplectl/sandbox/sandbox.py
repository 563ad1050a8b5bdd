"""``Sandbox``: one store, its faults and counters, the WSGI app, and the seed it resets to."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from maplectl.sandbox.app import SandboxApp
from maplectl.sandbox.clock import Clock
from maplectl.sandbox.faults import Counters, FaultBook
from maplectl.sandbox.seed import DEMO_SEED, check_token, parse_seed
from maplectl.sandbox.store import Store

EPHEMERAL = ":memory:"


class Sandbox:
    """A local, strict, Maple-compatible API with SQLite state.

    ``sandbox.app`` is the WSGI callable (API under ``/api/v1``, control under ``/_sandbox``);
    ``sandbox.store`` holds the state and rules and can be used without HTTP. The control
    handlers act on the sandbox itself (it is their ``control.ControlTarget``).
    """

    def __init__(
        self,
        store: Store,
        seed_doc: Mapping[str, Any],
        *,
        tmpdir: Path | None = None,
        check_responses: bool = False,
    ) -> None:
        self.store = store
        self.seed_doc = seed_doc
        self.faults = FaultBook()
        self.counters = Counters()
        self._tokens: dict[str, str] = {}
        self._tmpdir = tmpdir
        self.app = SandboxApp(
            store, self.faults, self.counters, self, check_responses=check_responses
        )

    @classmethod
    def open(
        cls,
        db_path: str | Path,
        *,
        seed: Path | None = None,
        clock: Clock | None = None,
        check_responses: bool = False,
    ) -> Sandbox:
        """Open or create the database at ``db_path``; a new, empty one is loaded with ``seed``.

        ``":memory:"`` gives an ephemeral database (a temporary file removed by ``close``).
        ``seed`` defaults to the demo seed shipped with maplectl.
        """
        tmpdir = None
        if str(db_path) == EPHEMERAL:
            tmpdir = Path(tempfile.mkdtemp(prefix="maplectl-sandbox-"))
            db_path = tmpdir / "sandbox.db"
        seed_doc = parse_seed(Path(seed or DEMO_SEED).read_bytes())
        store = Store.open(db_path, clock)
        if store.is_empty():
            store.wipe()
            store.load_seed(seed_doc)
        return cls(store, seed_doc, tmpdir=tmpdir, check_responses=check_responses)

    @property
    def company_id(self) -> str:
        """The first company of the seed."""
        return self.store.companies()[0][0]

    @property
    def token(self) -> str:
        """The API token of the first company."""
        return self.store.companies()[0][1]

    def token_for(self, company_id: str) -> str:
        """The API token of a company; ``KeyError`` if there is no such company."""
        for cid, token in self.store.companies():
            if cid == company_id:
                return token
        raise KeyError(company_id)

    def set_token(self, company_id: str, token: str) -> None:
        """Give a company a new token (kept across ``reset``); one shorter than maplectl
        accepts is refused (:func:`maplectl.sandbox.seed.check_token`)."""
        check_token(token)
        self.store.set_token(company_id, token)
        self._tokens[company_id] = token

    def reset(self) -> None:
        """Back to the seed: data, clock offset, idempotency keys, faults and counters."""
        self.store.wipe()
        self.store.load_seed(self.seed_doc)
        for company_id, token in self._tokens.items():
            self.store.set_token(company_id, token)
        self.faults.clear()
        self.counters.reset()

    def load_seed(self, seed: str | bytes | Mapping[str, Any]) -> dict[str, int]:
        """Load more seed data (YAML/JSON text or a parsed document)."""
        doc = seed if isinstance(seed, Mapping) else parse_seed(seed)
        return self.store.load_seed(doc)

    def advance_clock(self, seconds: float) -> None:
        """Move the sandbox clock forward (persisted in the database)."""
        self.store.advance(seconds)

    def close(self) -> None:
        """Close the database; an ephemeral one is deleted."""
        self.store.close()
        if self._tmpdir is not None:
            shutil.rmtree(self._tmpdir, ignore_errors=True)

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
