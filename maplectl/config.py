"""Settings for one run: command-line flags beat environment variables, which beat the
``maplectl.yaml`` found at the manifests' root. [edge]

The API token is wrapped in :class:`Secret` the moment it is read, so it cannot end up in a repr,
a log line or a plan file by accident, and every output sink masks it (:mod:`maplectl.redaction`).
It is checked before any request is made: surrounding whitespace (the newline ``echo`` leaves in
a CI secret) is stripped, and any other character that is not visible ASCII is refused.

Plain ``http://`` carries the token in clear, so it is allowed to loopback hosts only.
"""

from __future__ import annotations

import ipaddress
import os
import stat
import unicodedata
import urllib.parse
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from maplectl import redaction
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
        redaction.remember(value)

    def reveal(self) -> str:
        """The real value; call only where it is sent (the Authorization header)."""
        return self._value

    def __repr__(self) -> str:
        return "Secret('****')"

    __str__ = __repr__

    def __bool__(self) -> bool:
        return bool(self._value)


ApiUrlSource = Literal["flag", "env", "file", "default", "sandbox"]
Environment = Literal["production", "test"]
ENVIRONMENTS: tuple[Environment, ...] = ("production", "test")


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything a command needs to reach Maple (or the embedded sandbox).

    ``api_url_source`` says where ``api_url`` came from: a URL read from ``maplectl.yaml`` (which
    a pull request can change) is shown prominently in the plan when it is not Maple's own.
    """

    api_url: str
    company_id: str
    token: Secret
    sandbox: bool
    sandbox_db: Path
    config_file: Path | None
    parallelism: int | None = None
    read_timeout: float | None = None
    api_url_source: ApiUrlSource = "default"
    environment: Environment | None = None
    """``environment`` in maplectl.yaml (or the saved plan); ``test`` for an unpinned sandbox."""

    @property
    def api_url_from_file(self) -> Path | None:
        """The file the API URL was read from, when it came from one and is not Maple's own."""
        if self.api_url_source == "file" and self.api_url != DEFAULT_API_URL:
            return self.config_file
        return None


def clean_token(raw: str, source: str) -> Secret:
    """The token from ``source`` without surrounding whitespace; refused if anything else in it
    is not visible ASCII (a control, zero-width or other invisible character). The message
    names the character, never the token."""
    value = raw.strip()
    redaction.remember(value)  # masked everywhere even if refused below
    if not value:
        raise UsageError(f"the API token from {source} is empty", hint="set it to the API token")
    if len(value) < redaction.MIN_LENGTH:
        # Masking a text this short everywhere would garble every output, so it could not be
        # kept out of them: it is refused before it is sent anywhere.
        raise UsageError(
            f"the API token from {source} is {len(value)} character"
            f"{'s' if len(value) != 1 else ''} long; a token is at least "
            f"{redaction.MIN_LENGTH}, so nothing was sent",
            hint="copy the whole token",
        )
    for index, char in enumerate(value):
        if not ("!" <= char <= "~"):
            name = unicodedata.name(char, unicodedata.category(char))
            raise UsageError(
                f"the API token from {source} contains U+{ord(char):04X} ({name}) at position "
                f"{index + 1}; a token is visible ASCII only, so nothing was sent",
                hint="copy the token again, without the hidden character",
            )
    return Secret(value)


def token_file_warning(path: Path) -> str | None:
    """A warning when a token file can be read by other users (as ssh warns of key files)."""
    if os.name != "posix":
        return None
    try:
        mode = path.stat().st_mode
    except OSError:
        return None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        return (
            f"warning: token file {path} is accessible by group or others "
            f"(mode {stat.S_IMODE(mode):04o}); run `chmod 600 {path}`"
        )
    return None


LOOPBACK_NAMES = ("localhost",)


def is_loopback(host: str) -> bool:
    """``localhost``, 127.0.0.0/8 or ::1 (brackets allowed). Names under ``.localhost`` are not
    trusted: without a local resolver rule they are looked up in DNS like any other name."""
    host = host.strip("[]").lower().rstrip(".")
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_api_url(url: str, source: str = "--api-url") -> str:
    """``url`` if the token may be sent there: ``https://`` anywhere, ``http://`` only to a
    loopback host. Checked before any connection is made."""
    try:
        parts = urllib.parse.urlsplit(url)
        host = parts.hostname or ""
    except ValueError as exc:
        raise UsageError(
            f"API URL {url!r} ({source}) is not a URL: {exc}",
            hint="write e.g. https://api.maplebilling.com/api/v1",
        ) from exc
    if "@" in parts.netloc:
        raise UsageError(
            f"the API URL ({source}) holds a user name or password before its host; it is not "
            "shown here, and nothing was sent",
            hint="give the token in MAPLE_API_TOKEN or --token-file, never in the URL",
        )
    if parts.scheme not in ("http", "https") or not host:
        raise UsageError(
            f"API URL {url!r} ({source}) is not an http(s) URL",
            hint="write e.g. https://api.maplebilling.com/api/v1",
        )
    if parts.scheme == "http" and not is_loopback(host):
        raise UsageError(
            f"refusing to send the API token in clear to {url} ({source}): plain http:// is "
            "allowed only to this machine (localhost, 127.0.0.0/8, ::1); nothing was sent",
            hint=f"use https://{parts.netloc}{parts.path}",
        )
    return url


def find_config_file(paths: Sequence[str | os.PathLike[str]]) -> Path | None:
    """The ``maplectl.yaml`` that governs ``paths``: for each PATH (a directory, or a file's
    folder), the nearest one in that folder or above it, up to the current directory.

    Every PATH must be governed by the same file: the company, environment and policy of one run
    come from one place, so ``plan billing/credits`` obeys the ``billing/maplectl.yaml`` that
    ``plan billing`` does, and two PATHs under two different files are refused.
    """
    found: dict[Path | None, str] = {}
    here = Path.cwd().resolve()
    for raw in paths:
        path = Path(raw)
        folder = (path if path.is_dir() else path.parent).resolve()
        found.setdefault(_nearest_config(folder, here), str(raw))
    if len(found) > 1:
        named = ", ".join(
            f"{where} ({str(cfg) if cfg else 'no maplectl.yaml'})" for cfg, where in found.items()
        )
        raise UsageError(
            f"the PATHs are governed by different maplectl.yaml files: {named}",
            hint="plan and apply the manifests of one maplectl.yaml at a time",
        )
    config = next(iter(found), None)
    if config is not None and config.is_relative_to(here):
        return config.relative_to(here)  # as the user would write it, in messages
    return config


def governing_config(folder: str | os.PathLike[str]) -> Path | None:
    """The ``maplectl.yaml`` that governs the manifests in ``folder`` (as
    :func:`find_config_file` finds it), or None."""
    return _nearest_config(Path(folder).resolve(), Path.cwd().resolve())


def _nearest_config(folder: Path, stop: Path) -> Path | None:
    """``maplectl.yaml`` in ``folder`` or its parents, not above ``stop`` when under it."""
    inside = folder.is_relative_to(stop)
    for candidate in (folder, *folder.parents):
        config = candidate / CONFIG_FILE_NAME
        if config.is_file():
            return config
        if not inside or candidate == stop:
            return None
    return None


def read_token_file(path: Path) -> Secret:
    """Read a token file; its content (stripped, checked by :func:`clean_token`) is the token."""
    try:
        value = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise UsageError(
            f"cannot read token file {path}: {reason}",
            hint="pass --token-file with a readable file, or set MAPLE_API_TOKEN",
        ) from exc
    if not value.strip():
        raise UsageError(f"token file {path} is empty", hint="write the API token into it")
    return clean_token(value, f"token file {path}")


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

    ``company`` is ``--company`` only: MAPLE_COMPANY_ID is read from ``env`` here, so that one
    that differs from the ``company_id`` maplectl.yaml pins is refused rather than obeyed. A
    ``config`` pinned to ``environment: production`` refuses ``sandbox``.

    ``sandbox_company`` is the embedded sandbox's first company, used when nothing else names one.
    """
    db = sandbox_db or _path_or_none(env.get("MAPLECTL_SANDBOX_DB")) or DEFAULT_SANDBOX_DB
    environment = _environment(config, config_file)
    if sandbox:
        if api_url:
            raise UsageError(
                "--sandbox and --api-url cannot be used together",
                hint="drop --api-url to use the embedded sandbox, or drop --sandbox",
            )
        if environment == "production":
            raise UsageError(
                f"{_pinned_by(config_file)} pins environment: production (company "
                f"{config.get('company_id') or '(none)'}); --sandbox is refused for it",
                hint="drop --sandbox to plan against Maple, or use a maplectl.yaml pinned to "
                "environment: test for the sandbox",
            )
        company_id = _company(company, env, config, config_file)
        company_id = company_id or sandbox_company or ""
        _check_company(company_id)
        return Settings(
            api_url="sandbox:" + str(db),
            company_id=company_id,
            token=Secret(""),
            sandbox=True,
            sandbox_db=db,
            config_file=config_file,
            api_url_source="sandbox",
            environment=environment or "test",
            **_defaults(config),
        )
    # The token first: once it is a Secret, every message is redacted of it, including a
    # refusal of an API URL that (wrongly) carries it.
    if token_file is not None:
        token = read_token_file(token_file)
    elif env.get("MAPLE_API_TOKEN"):
        token = clean_token(env["MAPLE_API_TOKEN"], "MAPLE_API_TOKEN")
    else:
        raise UsageError(
            "no API token",
            hint="set MAPLE_API_TOKEN or pass --token-file PATH (there is no token flag, on "
            "purpose: flags end up in shell history and CI logs); or use --sandbox",
        )
    url, url_source = _api_url(api_url, env, config, config_file)
    company_id = _company(company, env, config, config_file)
    if not company_id:
        raise UsageError(
            "no company id",
            hint="pass --company cmp_..., set MAPLE_COMPANY_ID, or add company_id to maplectl.yaml",
        )
    _check_company(company_id)
    return Settings(
        api_url=url,
        company_id=company_id,
        token=token,
        sandbox=False,
        sandbox_db=db,
        config_file=config_file,
        api_url_source=url_source,
        environment=environment,
        **_defaults(config),
    )


def _pinned_by(config_file: Path | None) -> str:
    return str(config_file) if config_file else "the saved plan"


def _environment(config: Mapping[str, Any], config_file: Path | None) -> Environment | None:
    """``environment`` of maplectl.yaml (the schema has checked it) or of a saved plan."""
    value = config.get("environment")
    if value is None:
        return None
    for known in ENVIRONMENTS:
        if value == known:
            return known
    raise UsageError(
        f"environment {value!r} in {_pinned_by(config_file)} is neither production nor test",
        hint="write environment: production or environment: test",
    )


def _company(
    flag: str | None, env: Mapping[str, str], config: Mapping[str, Any], config_file: Path | None
) -> str:
    """The company: ``--company``, else MAPLE_COMPANY_ID, else maplectl.yaml's ``company_id``.

    A company in the environment that is not the one maplectl.yaml pins is refused unless
    ``--company`` says which: a CI variable left over from another job must not silently move
    the plan to another company.
    """
    if flag:
        return flag
    from_env = env.get("MAPLE_COMPANY_ID") or ""
    from_file = str(config.get("company_id") or "")
    if from_env and from_file and from_env != from_file:
        raise UsageError(
            f"MAPLE_COMPANY_ID is {from_env}, but {_pinned_by(config_file)} pins company_id "
            f"{from_file}; nothing was sent",
            hint=f"unset MAPLE_COMPANY_ID, or pass --company {from_env} (or --company "
            f"{from_file}) to say which company you mean",
        )
    return from_env or from_file


def _api_url(
    flag: str | None, env: Mapping[str, str], config: Mapping[str, Any], config_file: Path | None
) -> tuple[str, ApiUrlSource]:
    """The API URL, where it came from, checked by :func:`check_api_url`."""
    url: str
    source: ApiUrlSource
    if flag:
        url, source, named = flag, "flag", "--api-url"
    elif env.get("MAPLE_API_URL"):
        url, source, named = env["MAPLE_API_URL"], "env", "MAPLE_API_URL"
    elif config.get("api_url"):
        url, source, named = str(config["api_url"]), "file", f"api_url in {config_file}"
    else:
        url, source, named = DEFAULT_API_URL, "default", "the default"
    return check_api_url(url.rstrip("/"), named), source


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
