"""Settings for one run: command-line flags beat environment variables, which beat the
``maplectl.yaml`` found at the manifests' root. [edge]

The API token is wrapped in :class:`Secret` the moment it is read, so it cannot end up in a repr,
a log line or a plan file by accident.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from maplectl.errors import UsageError

DEFAULT_API_URL = "https://api.maplebilling.com/api/v1"
CONFIG_FILE_NAME = "maplectl.yaml"
STATE_DIR = Path(".maplectl")
DEFAULT_SANDBOX_DB = STATE_DIR / "sandbox.sqlite"


class Secret:
    """A string that never shows itself: ``str()``/``repr()`` give ``'****'``."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """The real value; call only where it is sent (the Authorization header)."""
        return self._value

    def __repr__(self) -> str:
        return "Secret('****')"

    __str__ = __repr__

    def __bool__(self) -> bool:
        return bool(self._value)


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything a command needs to reach Maple (or the embedded sandbox)."""

    api_url: str
    company_id: str
    token: Secret
    sandbox: bool
    sandbox_db: Path
    config_file: Path | None
    parallelism: int | None = None
    read_timeout: float | None = None


def find_config_file(paths: Sequence[str | os.PathLike[str]]) -> Path | None:
    """The ``maplectl.yaml`` at the root of the first PATH (a directory, or a file's folder)."""
    for raw in paths:
        path = Path(raw)
        folder = path if path.is_dir() else path.parent
        candidate = folder / CONFIG_FILE_NAME
        if candidate.is_file():
            return candidate
    return None


def read_token_file(path: Path) -> Secret:
    """Read a token file; its content (stripped) is the token."""
    try:
        value = path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise UsageError(
            f"cannot read token file {path}: {exc.strerror}",
            hint="pass --token-file with a readable file, or set MAPLE_API_TOKEN",
        ) from exc
    if not value:
        raise UsageError(f"token file {path} is empty", hint="write the API token into it")
    return Secret(value)


def resolve_settings(
    *,
    config: Mapping[str, Any],
    config_file: Path | None,
    env: Mapping[str, str],
    api_url: str | None,
    company: str | None,
    token_file: Path | None,
    sandbox: bool,
    sandbox_db: Path | None,
    sandbox_company: str | None = None,
) -> Settings:
    """Merge flags > environment > maplectl.yaml into :class:`Settings`, or explain what's missing.

    ``sandbox_company`` is the embedded sandbox's first company, used when nothing else names one.
    """
    db = sandbox_db or _path_or_none(env.get("MAPLECTL_SANDBOX_DB")) or DEFAULT_SANDBOX_DB
    if sandbox:
        if api_url:
            raise UsageError(
                "--sandbox and --api-url cannot be used together",
                hint="drop --api-url to use the embedded sandbox, or drop --sandbox",
            )
        company_id = company or env.get("MAPLE_COMPANY_ID") or config.get("company_id")
        company_id = company_id or sandbox_company or ""
        _check_company(company_id)
        return Settings(
            api_url="sandbox:" + str(db),
            company_id=company_id,
            token=Secret(""),
            sandbox=True,
            sandbox_db=db,
            config_file=config_file,
            **_defaults(config),
        )
    url = api_url or env.get("MAPLE_API_URL") or config.get("api_url") or DEFAULT_API_URL
    company_id = company or env.get("MAPLE_COMPANY_ID") or config.get("company_id") or ""
    if not company_id:
        raise UsageError(
            "no company id",
            hint="pass --company cmp_..., set MAPLE_COMPANY_ID, or add company_id to maplectl.yaml",
        )
    _check_company(company_id)
    if token_file is not None:
        token = read_token_file(token_file)
    elif env.get("MAPLE_API_TOKEN"):
        token = Secret(env["MAPLE_API_TOKEN"])
    else:
        raise UsageError(
            "no API token",
            hint="set MAPLE_API_TOKEN or pass --token-file PATH (there is no token flag, on "
            "purpose: flags end up in shell history and CI logs); or use --sandbox",
        )
    return Settings(
        api_url=str(url).rstrip("/"),
        company_id=company_id,
        token=token,
        sandbox=False,
        sandbox_db=db,
        config_file=config_file,
        **_defaults(config),
    )


def _defaults(config: Mapping[str, Any]) -> dict[str, Any]:
    """maplectl.yaml's defaults for flags (the schema has checked their types and ranges)."""
    return {"parallelism": config.get("parallelism"), "read_timeout": config.get("timeout_seconds")}


def _check_company(company_id: str) -> None:
    if not company_id.startswith("cmp_"):
        raise UsageError(
            f"company id {company_id!r} does not start with 'cmp_'",
            hint="Maple company ids look like cmp_2MkGNwZqoewXZ38Sc2AzYZh4x50",
        )


def _path_or_none(value: str | None) -> Path | None:
    return Path(value) if value else None
