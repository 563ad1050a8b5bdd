"""Settings precedence: flags beat the environment, which beats maplectl.yaml (docs/cli.md)."""

from __future__ import annotations

from pathlib import Path

import pytest

from maplectl.config import Secret, find_config_file, resolve_settings
from maplectl.errors import UsageError

FILE = {"company_id": "cmp_file", "api_url": "https://file.test/api/v1", "parallelism": 3,
        "timeout_seconds": 12}


def resolve(env: dict[str, str] | None = None, **flags: object) -> object:
    args: dict[str, object] = dict(config=FILE, config_file=None, env=env or {}, api_url=None,
                                   company=None, token_file=None, sandbox=False, sandbox_db=None)
    args.update(flags)
    return resolve_settings(**args)  # type: ignore[arg-type]


def test_flags_beat_env_beat_file() -> None:
    """--company beats MAPLE_COMPANY_ID, which beats company_id in maplectl.yaml."""
    env = {"MAPLE_API_TOKEN": "t", "MAPLE_COMPANY_ID": "cmp_env"}
    assert resolve(env).company_id == "cmp_env"  # type: ignore[attr-defined]
    assert resolve(env, company="cmp_flag").company_id == "cmp_flag"  # type: ignore[attr-defined]
    only_file = resolve({"MAPLE_API_TOKEN": "t"})
    assert only_file.company_id == "cmp_file"  # type: ignore[attr-defined]
    assert only_file.api_url == "https://file.test/api/v1"  # type: ignore[attr-defined]
    assert only_file.parallelism == 3 and only_file.read_timeout == 12  # type: ignore[attr-defined]


def test_token_from_file_and_never_shown(tmp_path: Path) -> None:
    """--token-file is read and stripped; the Secret never prints its value."""
    (tmp_path / "tok").write_text("s3cret\n")
    settings = resolve({}, token_file=tmp_path / "tok")
    assert settings.token.reveal() == "s3cret"  # type: ignore[attr-defined]
    assert "s3cret" not in repr(settings) and "s3cret" not in str(settings)


def test_missing_token_explains_why_there_is_no_flag() -> None:
    """Without a token the error says where to put one, and why not on the command line."""
    with pytest.raises(UsageError, match="MAPLE_API_TOKEN") as info:
        resolve({})
    assert "no token flag" in str(info.value)


def test_company_must_start_with_cmp() -> None:
    """A company id without the cmp_ prefix is refused before any request."""
    with pytest.raises(UsageError, match="cmp_"):
        resolve({"MAPLE_API_TOKEN": "t"}, company="acme")


def test_sandbox_needs_no_token_and_refuses_api_url() -> None:
    """--sandbox works without a token; --sandbox with --api-url is a usage error."""
    settings = resolve({}, sandbox=True, sandbox_company="cmp_demo", config={})
    assert settings.sandbox and settings.company_id == "cmp_demo"  # type: ignore[attr-defined]
    with pytest.raises(UsageError, match="--sandbox and --api-url"):
        resolve({}, sandbox=True, api_url="https://x.test")


def test_config_file_is_found_at_the_manifests_root(tmp_path: Path) -> None:
    """maplectl.yaml beside the manifests (or beside a manifest file) is picked up."""
    (tmp_path / "billing").mkdir()
    (tmp_path / "billing" / "maplectl.yaml").write_text("company_id: cmp_x\n")
    (tmp_path / "billing" / "a.yaml").write_text("")
    assert find_config_file([tmp_path / "billing"]) == tmp_path / "billing" / "maplectl.yaml"
    assert find_config_file([tmp_path / "billing" / "a.yaml"]) == (
        tmp_path / "billing" / "maplectl.yaml")
    assert find_config_file([tmp_path]) is None
    assert str(Secret("x")) == "Secret('****')"
