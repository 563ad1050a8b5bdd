"""Loading manifests from files and folders: discovery, strictness, positions, Resources."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

import pytest
import yaml

from maplectl.errors import ManifestError
from maplectl.manifests import loader as manifest
from maplectl.manifests.loader import (
    MAX_FILE_BYTES,
    load_config,
    load_manifests,
    validate_paths,
)
from maplectl.maple.reader import Observed
from maplectl.model import Kind
from maplectl.plan.builder import build_plan
from maplectl.plan.records import Desired

REPO = Path(__file__).resolve().parents[2]

CREDIT = """apiVersion: maplectl/v1
kind: Credit
metadata:
  name: {name}
spec:
  customer_id: {customer}
  name: {title}
  type: AMOUNT
  amount: {{currency: USD, value_in_cents: 5000}}
"""


def credit(name: str = "acme-goodwill", customer: str = "cus_acme", title: str = "Goodwill") -> str:
    return CREDIT.format(name=name, customer=customer, title=title)


def write(folder: Path, relative: str, text: str | bytes) -> Path:
    path = folder / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def test_examples_load_sorted_by_kind_and_name(monkeypatch: pytest.MonkeyPatch) -> None:
    """examples/ is valid, and its Resources come back sorted by (kind, name)."""
    monkeypatch.chdir(REPO)
    resources = load_manifests(["examples"])
    keys = [(r.kind.value, r.name) for r in resources]
    assert keys == sorted(keys)
    assert {r.kind for r in resources} == {Kind.CREDIT, Kind.ONE_TIME_CHARGE}
    assert all(r.source.file.startswith("examples/") for r in resources)


def test_every_field_has_a_location(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """field_locations holds every dotted path, pointing at the value's line and column."""
    monkeypatch.chdir(tmp_path)
    write(tmp_path, "billing/acme.yaml", "# a comment\n---\n" + credit())
    (resource,) = load_manifests(["billing"])
    assert resource.source.file == "billing/acme.yaml"
    assert (resource.source.line, resource.source.column) == (3, 1)
    cents = resource.field_locations["spec.amount.value_in_cents"]
    assert (cents.file, cents.line, cents.column) == ("billing/acme.yaml", 11, 43)
    assert resource.field_locations["metadata.name"].line == 6
    expected = {"apiVersion", "kind", "metadata", "metadata.name", "spec", "spec.customer_id",
                "spec.name", "spec.type", "spec.amount", "spec.amount.currency",
                "spec.amount.value_in_cents"}  # fmt: skip
    assert set(resource.field_locations) == expected
    assert resource.spec == {
        "customer_id": "cus_acme",
        "name": "Goodwill",
        "type": "AMOUNT",
        "amount": {"currency": "USD", "value_in_cents": 5000},
    }


def test_list_items_are_located_by_index(tmp_path: Path) -> None:
    """One-time items are addressed as spec.onetime_items.N.field."""
    text = (REPO / "examples/charges/services.yaml").read_text(encoding="utf-8")
    write(tmp_path, "s.yaml", text)
    resources = {r.name: r for r in load_manifests([tmp_path / "s.yaml"])}
    where = resources["acme-sso-workshop"].field_locations["spec.onetime_items.0.aggregate"]
    assert text.splitlines()[where.line - 1][where.column - 1 :] == "2"


def test_metadata_is_read_into_the_model(tmp_path: Path) -> None:
    """Optional metadata fields land in Metadata, labels as sorted pairs."""
    text = credit().replace(
        "  name: acme-goodwill\n",
        "  name: acme-goodwill\n  remote_id: crd_123\n  allow_duplicate: true\n"
        "  labels: {z: last, a: first}\n  description: why\n",
    )
    (resource,) = load_manifests([write(tmp_path, "a.yaml", text)])
    meta = resource.metadata
    assert (meta.remote_id, meta.allow_duplicate, meta.description) == ("crd_123", True, "why")
    assert meta.labels == (("a", "first"), ("z", "last"))


def test_folders_are_walked_recursively_in_sorted_order(tmp_path: Path) -> None:
    """*.yaml/*.yml under folders count; other files, hidden entries and maplectl.yaml do not."""
    write(tmp_path, "b/z.yml", credit("z-credit", title="Z"))
    write(tmp_path, "a.yaml", credit("a-credit", title="A"))
    write(tmp_path, "b/c/d.yaml", credit("d-credit", title="D"))
    write(tmp_path, "notes.txt", "not yaml: [")
    write(tmp_path, ".hidden/x.yaml", "broken: [")
    write(tmp_path, ".x.yaml", "broken: [")
    write(tmp_path, "maplectl.yaml", "company_id: cmp_demo\n")
    resources, diagnostics = validate_paths([tmp_path])
    assert diagnostics == []
    assert [r.name for r in resources] == ["a-credit", "d-credit", "z-credit"]
    files = [r.source.file for r in resources]
    assert files == [
        str(tmp_path / "a.yaml"),
        str(tmp_path / "b/c/d.yaml"),
        str(tmp_path / "b/z.yml"),
    ]


def test_a_file_named_twice_is_read_once(tmp_path: Path) -> None:
    """Passing a file and its folder does not create a duplicate-name problem."""
    path = write(tmp_path, "a.yaml", credit())
    resources, diagnostics = validate_paths([path, tmp_path])
    assert diagnostics == [] and len(resources) == 1


def test_empty_files_and_documents_hold_nothing(tmp_path: Path) -> None:
    """An empty file, a file of comments, and empty documents between --- are fine."""
    write(tmp_path, "empty.yaml", "")
    write(tmp_path, "comments.yaml", "# nothing here yet\n")
    write(tmp_path, "docs.yaml", "---\n---\n# c\n---\n" + credit() + "---\n...\n")
    resources, diagnostics = validate_paths([tmp_path])
    assert diagnostics == [] and len(resources) == 1


def test_problems_in_several_files_are_all_reported_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One run reports every problem of every file, including cross-file duplicates."""
    monkeypatch.chdir(tmp_path)
    write(tmp_path, "m/a.yaml", credit().replace("5000}", "19.99}"))
    write(
        tmp_path, "m/b.yaml", credit("b-credit", title="B").replace("type: AMOUNT", "type: AMOUNTS")
    )
    write(tmp_path, "m/c.yaml", credit(title="C") + "---\nkind: Coupon\n")
    write(tmp_path, "m/d.yaml", b"name: \xff\n")
    with pytest.raises(ManifestError) as caught:
        load_manifests(["m", "missing.yaml"])
    assert [str(d) for d in caught.value.diagnostics] == [
        "m/a.yaml:9:43: Credit/acme-goodwill: spec.amount.value_in_cents: must be a whole number"
        " of cents, got 19.99 (write 1999)",
        'm/b.yaml:8:9: Credit/b-credit: spec.type: must be one of AMOUNT, UNITS; got "AMOUNTS"'
        ' (did you mean "AMOUNT"?)',
        'm/c.yaml:4:9: Credit/acme-goodwill: metadata.name: "acme-goodwill" is already the name'
        " of the Credit at m/a.yaml:4 (names are addresses; give each Credit its own name)",
        "m/c.yaml:11:1: Coupon: apiVersion: is required",
        "m/c.yaml:11:1: Coupon: metadata: is required",
        "m/c.yaml:11:1: Coupon: spec: is required",
        'm/c.yaml:11:7: Coupon: kind: unknown kind "Coupon"; known kinds: Credit, OneTimeCharge',
        "m/d.yaml:1:7: is not valid UTF-8 (byte 0xff) (save the file as UTF-8)",
        "missing.yaml:1:1: no such file or directory",
    ]
    assert str(caught.value).endswith("9 problems found; nothing was sent.")


def test_files_over_the_size_cap_are_refused(tmp_path: Path) -> None:
    """A file over 5 MiB is not parsed, and the message names the limit."""
    path = write(tmp_path, "big.yaml", "#" * (MAX_FILE_BYTES + 1))
    _, diagnostics = validate_paths([path])
    (problem,) = diagnostics
    assert "the limit is 5 MiB per file" in problem.message
    assert problem.hint == "split it into several files"


def test_utf16_is_refused(tmp_path: Path) -> None:
    """A UTF-16 file (with its byte-order mark) is named as such."""
    path = write(tmp_path, "u.yaml", credit().encode("utf-16"))
    _, diagnostics = validate_paths([path])
    assert [d.message for d in diagnostics] == ["is UTF-16; manifests must be UTF-8"]


def test_a_utf8_byte_order_mark_is_accepted(tmp_path: Path) -> None:
    """Editors that write a UTF-8 BOM do not break loading."""
    path = write(tmp_path, "bom.yaml", "\ufeff" + credit())
    assert len(load_manifests([path])) == 1


def test_an_alias_bomb_is_reported_without_being_expanded(tmp_path: Path) -> None:
    """Nested aliases (a 'billion laughs' file) are errors, reported quickly, never expanded."""
    lines = ['l0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for level in range(1, 9):
        refs = ", ".join([f"*l{level - 1}"] * 9)
        lines.append(f"l{level}: &l{level} [{refs}]")
    path = write(tmp_path, "bomb.yaml", "\n".join(lines) + "\n")
    started = time.perf_counter()
    _, diagnostics = validate_paths([path])
    assert time.perf_counter() - started < 2
    assert sum("aliases (*l" in d.message for d in diagnostics) == 8 * 9
    assert sum("anchors (&l" in d.message for d in diagnostics) == 9


def test_the_pure_python_parser_gives_the_same_answers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without libyaml, the pure-Python loader yields identical Resources and diagnostics."""
    monkeypatch.chdir(REPO)
    fast = validate_paths(["examples", "tests/manifests/invalid"])
    overrides = {
        name: value
        for name, value in vars(manifest._TypingLoader).items()
        if name in {"resolve", "descend_resolver", "ascend_resolver"}
    }
    pure = type("PureTypingLoader", (yaml.BaseLoader,), overrides)
    monkeypatch.setattr(manifest, "_TypingLoader", pure)
    monkeypatch.setattr(manifest, "_Loader", yaml.BaseLoader)
    slow = validate_paths(["examples", "tests/manifests/invalid"])
    assert slow[0] == fast[0]

    def comparable(d: object) -> str:
        # The two parsers word syntax errors differently ("... not allowed here" / "... in this
        # context"); where they point must still agree.
        text = str(d)
        return text.partition("invalid YAML")[0] if "invalid YAML" in text else text

    assert [comparable(d) for d in slow[1]] == [comparable(d) for d in fast[1]]


NOW = dt.datetime(2027, 6, 1, 12, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("expiry", "expired"),
    [
        ("2027-06-01T12:00:00Z", True),
        ("2027-06-01T13:00:00+02:00", True),
        ("2027-06-01T12:00:01Z", False),
        ("2030-12-31T23:59:59Z", False),
        (None, False),
    ],
)
def test_plan_refuses_to_create_a_credit_that_is_not_in_the_future(
    tmp_path: Path, expiry: str | None, expired: bool
) -> None:
    """A credit whose expiration_date is at or before now cannot be created; others can."""
    text = credit() + (f'  expiration_date: "{expiry}"\n' if expiry else "")
    (resource,) = load_manifests([write(tmp_path, "a.yaml", text)])
    observed = Observed(customers=frozenset({resource.customer_id}), credits=(), charges=())
    try:
        build_plan(
            [Desired.from_resource(resource)], observed, company_id="cmp_demo", api_url="x", now=NOW
        )
    except ManifestError as exc:
        problem: object = exc.diagnostics[0]
    else:
        problem = None
    if not expired:
        assert problem is None
        return
    assert problem is not None
    assert str(problem) == (
        f"{tmp_path / 'a.yaml'}:10:20: Credit/acme-goodwill: spec.expiration_date: {expiry} is not"
        " in the future (now is 2027-06-01T12:00:00Z), so the credit cannot be created (set a"
        " later expiration_date, or delete this manifest if the credit is not wanted)"
    )


def test_expired_credits_still_validate(tmp_path: Path) -> None:
    """A manifest whose credit has long expired stays valid; only the plan judges expiry."""
    text = credit() + '  expiration_date: "2001-01-01T00:00:00Z"\n'
    assert len(load_manifests([write(tmp_path, "a.yaml", text)])) == 1


def test_load_config_reads_the_allowed_settings(tmp_path: Path) -> None:
    """maplectl.yaml may set company_id, api_url, parallelism and timeout_seconds."""
    text = (
        "company_id: cmp_demo\napi_url: http://127.0.0.1:8080/api/v1\n"
        "parallelism: 4\ntimeout_seconds: 2.5\n"
    )
    assert load_config(write(tmp_path, "maplectl.yaml", text)) == {
        "company_id": "cmp_demo",
        "api_url": "http://127.0.0.1:8080/api/v1",
        "parallelism": 4,
        "timeout_seconds": 2.5,
    }
    assert load_config(write(tmp_path, "empty/maplectl.yaml", "# nothing\n")) == {}


def test_load_config_reports_every_problem_with_its_position(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Bad values and unknown keys in maplectl.yaml are diagnostics with file:line:col."""
    monkeypatch.chdir(tmp_path)
    write(tmp_path, "maplectl.yaml", "company_id: demo\napi_url: ftp://x\ncompany: cmp_x\n")
    with pytest.raises(ManifestError) as caught:
        load_config("maplectl.yaml")
    assert [str(d) for d in caught.value.diagnostics] == [
        'maplectl.yaml:1:13: company_id: must be a Maple company id starting with cmp_, got "demo"'
        " (copy it from Maple's settings page, e.g. cmp_demo)",
        'maplectl.yaml:2:10: api_url: must be an http:// or https:// URL, got "ftp://x"',
        'maplectl.yaml:3:1: company: unknown field (did you mean "company_id"?)',
    ]


def test_load_config_refuses_a_missing_file_and_several_documents(tmp_path: Path) -> None:
    """A missing maplectl.yaml, or one with two documents, is a ManifestError."""
    with pytest.raises(ManifestError, match="no such file"):
        load_config(tmp_path / "nope.yaml")
    path = write(tmp_path, "maplectl.yaml", "company_id: cmp_a\n---\ncompany_id: cmp_b\n")
    with pytest.raises(ManifestError, match="holds more than one document"):
        load_config(path)
