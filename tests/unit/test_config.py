"""Settings precedence: flags beat the environment, which beats maplectl.yaml (docs/cli.md)."""

from __future__ import annotations

from pathlib import Path

import pytest

from maplectl.config import Secret, find_config_file, read_token_file, resolve_settings
from maplectl.errors import UsageError

FILE = {
    "company_id": "cmp_file",
    "api_url": "https://file.test/api/v1",
    "parallelism": 3,
    "timeout_seconds": 12,
}


def resolve(env: dict[str, str] | None = None, **flags: object) -> object:
    args: dict[str, object] = dict(
        config=FILE,
        config_file=None,
        env=env or {},
        api_url=None,
        company=None,
        token_file=None,
        sandbox=False,
        sandbox_db=None,
    )
    args.update(flags)
    return resolve_settings(**args)  # type: ignore[arg-type]


def test_flags_beat_env_beat_file() -> None:
    """--company beats MAPLE_COMPANY_ID, which names the company when maplectl.yaml pins none."""
    env = {"MAPLE_API_TOKEN": "tok_test", "MAPLE_COMPANY_ID": "cmp_env"}
    unpinned = {k: v for k, v in FILE.items() if k != "company_id"}
    assert resolve(env, config=unpinned).company_id == "cmp_env"  # type: ignore[attr-defined]
    assert resolve(env, company="cmp_flag").company_id == "cmp_flag"  # type: ignore[attr-defined]
    same = {"MAPLE_API_TOKEN": "tok_test", "MAPLE_COMPANY_ID": "cmp_file"}
    assert resolve(same).company_id == "cmp_file"  # type: ignore[attr-defined]
    only_file = resolve({"MAPLE_API_TOKEN": "tok_test"})
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
        resolve({"MAPLE_API_TOKEN": "tok_test"}, company="acme")


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
        tmp_path / "billing" / "maplectl.yaml"
    )
    assert find_config_file([tmp_path]) is None
    assert str(Secret("x")) == "Secret('****')"


def test_surrounding_whitespace_of_the_token_is_stripped() -> None:
    """The newline `echo` leaves in a CI secret (and spaces, tabs, CRs around it) go."""
    settings = resolve({"MAPLE_API_TOKEN": " \tabc-123\r\n"})
    assert settings.token.reveal() == "abc-123"  # type: ignore[attr-defined]


@pytest.mark.parametrize("bad", ["\n", "\x7f", "\u200b", "\u200e", "\ufeff", "\u00a0", " ", "é"])
def test_a_hidden_character_inside_the_token_is_refused_without_showing_it(bad: str) -> None:
    """A control, zero-width, format or non-ASCII character inside the token is a usage error
    that names the character and never the token."""
    token = "tok-abcdef" + bad + "ghij"
    with pytest.raises(UsageError) as info:
        resolve({"MAPLE_API_TOKEN": token})
    message = str(info.value)
    assert f"U+{ord(bad):04X}" in message and "MAPLE_API_TOKEN" in message
    assert "abcdef" not in message and "ghij" not in message


@pytest.mark.parametrize("short", ["q", "q7", "q7Z", " q7Z\n"])
def test_a_token_too_short_to_be_masked_is_refused_before_anything_is_sent(
    short: str, tmp_path: Path
) -> None:
    """A token under 4 characters could not be masked in every output without garbling it, so
    it is refused (from the environment or a token file) with its length, never its text."""
    with pytest.raises(UsageError) as info:
        resolve({"MAPLE_API_TOKEN": short})
    message = str(info.value)
    assert "MAPLE_API_TOKEN" in message and "nothing was sent" in message
    assert f"is {len(short.strip())} character" in message and "q7" not in message
    token_file = tmp_path / "token"
    token_file.write_text(short, encoding="utf-8")
    with pytest.raises(UsageError, match="at least 4"):
        read_token_file(token_file)
    assert len(resolve({"MAPLE_API_TOKEN": "q7Zx"}).token.reveal()) == 4  # type: ignore[attr-defined]


def test_a_token_file_others_can_read_is_warned_about(tmp_path: Path) -> None:
    """Mode 0644 on a token file gets a chmod 600 warning; 0600 gets none."""
    from maplectl.config import token_file_warning

    path = tmp_path / "tok"
    path.write_text("t")
    path.chmod(0o644)
    assert "chmod 600" in (token_file_warning(path) or "")
    path.chmod(0o600)
    assert token_file_warning(path) is None


@pytest.mark.parametrize(
    ("url", "ok"),
    [
        ("https://api.maplebilling.com/api/v1", True),
        ("https://10.0.0.5/api/v1", True),
        ("http://127.0.0.1:8080/api/v1", True),
        ("http://127.5.6.7/api/v1", True),
        ("http://localhost:9000/api/v1", True),
        ("http://[::1]:9000/api/v1", True),
        ("http://10.255.255.1/api/v1", False),
        ("http://api.maplebilling.com/api/v1", False),
        ("http://localhost.evil.example/api/v1", False),
        ("http://127.0.0.1.nip.io/api/v1", False),
        ("ftp://127.0.0.1/api/v1", False),
    ],
)
def test_plain_http_is_allowed_to_loopback_hosts_only(url: str, ok: bool) -> None:
    """http:// carries the token in clear, so only to this machine; https:// anywhere."""
    if ok:
        assert resolve({"MAPLE_API_TOKEN": "tok_test"}, api_url=url).api_url == url  # type: ignore[attr-defined]
    else:
        with pytest.raises(UsageError) as info:
            resolve({"MAPLE_API_TOKEN": "tok_test"}, api_url=url)
        assert "--api-url" in str(info.value)


def test_settings_know_when_the_api_url_came_from_a_file(tmp_path: Path) -> None:
    """api_url from maplectl.yaml is marked as such (the plan shows it prominently); the same
    URL from a flag or the environment is not, nor is Maple's own URL from the file."""
    config_file = tmp_path / "maplectl.yaml"
    from_file = resolve({"MAPLE_API_TOKEN": "tok_test"}, config_file=config_file)
    assert from_file.api_url_from_file == config_file  # type: ignore[attr-defined]
    from_flag = resolve(
        {"MAPLE_API_TOKEN": "tok_test"}, config_file=config_file, api_url="https://file.test/api/v1"
    )
    assert from_flag.api_url_from_file is None  # type: ignore[attr-defined]
    own = resolve(
        {"MAPLE_API_TOKEN": "tok_test"},
        config_file=config_file,
        config={**FILE, "api_url": "https://api.maplebilling.com/api/v1/"},
    )
    assert own.api_url_from_file is None  # type: ignore[attr-defined]


@pytest.mark.parametrize("sandbox", [False, True])
def test_a_company_from_the_environment_must_agree_with_the_pinned_one(sandbox: bool) -> None:
    """MAPLE_COMPANY_ID other than maplectl.yaml's company_id is refused, naming both, unless
    --company says which company is meant."""
    env = {"MAPLE_API_TOKEN": "tok_test", "MAPLE_COMPANY_ID": "cmp_leftover"}
    with pytest.raises(UsageError) as info:
        resolve(env, sandbox=sandbox)
    assert "MAPLE_COMPANY_ID is cmp_leftover" in info.value.message
    assert "company_id cmp_file" in info.value.message
    assert "--company" in str(info.value.hint)
    chosen = resolve(env, sandbox=sandbox, company="cmp_leftover")
    assert chosen.company_id == "cmp_leftover"  # type: ignore[attr-defined]


def test_sandbox_is_refused_for_a_config_pinned_to_production(tmp_path: Path) -> None:
    """environment: production in maplectl.yaml refuses --sandbox, naming the file; test and
    unpinned configs allow it, and the settings carry the environment."""
    config_file = tmp_path / "maplectl.yaml"
    production = {"company_id": "cmp_live", "environment": "production"}
    with pytest.raises(UsageError, match="pins environment: production") as info:
        resolve({}, sandbox=True, config=production, config_file=config_file)
    assert str(config_file) in info.value.message
    live = resolve({"MAPLE_API_TOKEN": "tok_test"}, config=production)
    assert live.environment == "production"  # type: ignore[attr-defined]
    test = resolve({}, sandbox=True, config={"company_id": "cmp_t", "environment": "test"})
    assert test.environment == "test"  # type: ignore[attr-defined]
    unpinned = resolve({}, sandbox=True, config={}, sandbox_company="cmp_demo")
    assert unpinned.environment == "test"  # type: ignore[attr-defined]
    assert resolve({"MAPLE_API_TOKEN": "tok_test"}).environment is None  # type: ignore[attr-defined]
