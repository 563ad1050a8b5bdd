"""`maplectl schema KIND` prints one schema; `maplectl schema --write DIR` writes them all."""

from __future__ import annotations

import json
from importlib.resources import files
from pathlib import Path

from click.testing import CliRunner

from maplectl.cli import cli
from maplectl.manifests.schema import SCHEMA_NAMES, shipped_schemas

REPO = Path(__file__).resolve().parents[2]


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args), prog_name="maplectl")
    return result.exit_code, result.output


def test_every_schema_in_schemas_is_shipped_and_known_by_name() -> None:
    """The package ships exactly the *.schema.json files of schemas/, and each has a name."""
    shipped = shipped_schemas()
    in_repo = {p.name: p.read_bytes() for p in (REPO / "schemas").glob("*.schema.json")}
    assert shipped == in_repo
    assert sorted(name.removesuffix(".schema.json") for name in shipped) == sorted(SCHEMA_NAMES)


def test_write_puts_every_shipped_schema_into_dir(tmp_path: Path) -> None:
    """A fresh DIR (made with its parents) gets each schema, byte for byte as shipped."""
    target = tmp_path / "deep" / "schemas"
    code, out = run("schema", "--write", str(target))
    assert code == 0, out
    resources = files("maplectl.schemas")
    for name in SCHEMA_NAMES:
        written = target / f"{name}.schema.json"
        assert written.read_bytes() == resources.joinpath(written.name).read_bytes()
        assert f"written    {written}" in out
    assert sorted(p.name for p in target.iterdir()) == sorted(shipped_schemas())


def test_write_again_leaves_identical_files_alone(tmp_path: Path) -> None:
    """Rerunning is safe: every file is reported unchanged and exit is 0."""
    run("schema", "--write", str(tmp_path))
    code, out = run("schema", "--write", str(tmp_path))
    assert code == 0 and out.count("unchanged") == len(SCHEMA_NAMES), out


def test_write_refuses_a_differing_file_and_writes_nothing(tmp_path: Path) -> None:
    """An edited schema file stops the whole write (exit 1, named); --force replaces it."""
    run("schema", "--write", str(tmp_path))
    edited = tmp_path / "credit.schema.json"
    edited.write_text('{"edited": true}\n')
    (tmp_path / "config.schema.json").unlink()
    code, out = run("schema", "--write", str(tmp_path))
    assert code == 1
    assert (
        f"Error: {edited} differs from the schema this maplectl ships; nothing was written" in out
    )
    assert "--force replaces it" in out
    assert edited.read_text() == '{"edited": true}\n'
    assert not (tmp_path / "config.schema.json").exists()
    code, out = run("schema", "--write", str(tmp_path), "--force")
    assert code == 0, out
    assert f"replaced   {edited}" in out and f"written    {tmp_path / 'config.schema.json'}" in out
    assert edited.read_bytes() == shipped_schemas()["credit.schema.json"]


def test_schema_kind_still_prints_one_schema() -> None:
    """`schema Credit` and `schema manifest` print the schema as JSON, as before."""
    for kind, name in [("Credit", "credit"), ("manifest", "manifest")]:
        code, out = run("schema", kind)
        assert code == 0
        assert json.loads(out) == json.loads(shipped_schemas()[f"{name}.schema.json"])


def test_schema_usage_errors_exit_1(tmp_path: Path) -> None:
    """No KIND and no --write, KIND with --write, --force without --write: exit 1, a hint."""
    assert run("schema") == (1, "Error: give a KIND or --write DIR\n"
                                "  hint: e.g. maplectl schema --write schemas\n")  # fmt: skip
    code, out = run("schema", "credit", "--write", str(tmp_path))
    assert code == 1 and "--write writes every schema; leave out credit" in out
    assert not any(tmp_path.iterdir())
    code, out = run("schema", "credit", "--force")
    assert code == 1 and "--force goes with --write DIR" in out
    (tmp_path / "file").write_text("")
    code, out = run("schema", "--write", str(tmp_path / "file"))
    assert code == 1 and "is a file" in out
