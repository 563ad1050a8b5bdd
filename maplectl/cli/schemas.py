"""``maplectl schema``: print one JSON Schema, or write them all into a folder for editors."""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path

import click
import click.shell_completion

from maplectl.cli.base import cli, echo, handle_errors
from maplectl.errors import UsageError

SCHEMA_KINDS = ("Credit", "OneTimeCharge", "manifest", "envelope", "config")


def _complete_kind(
    _ctx: click.Context, _param: click.Parameter, incomplete: str
) -> list[click.shell_completion.CompletionItem]:
    return [
        click.shell_completion.CompletionItem(k)
        for k in SCHEMA_KINDS
        if k.casefold().startswith(incomplete.casefold())
    ]


@cli.command()
@click.argument("kind", required=False, shell_complete=_complete_kind)
@click.option(
    "--write",
    "write_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    metavar="DIR",
    help="Write every schema maplectl ships into DIR, for editors (no KIND then).",
)
@click.option("--force", is_flag=True, help="With --write: replace schema files that differ.")
@handle_errors
def schema(kind: str | None, write_dir: Path | None, force: bool) -> None:
    """Print the JSON Schema of KIND (Credit, OneTimeCharge, manifest, envelope, config), or
    write them all into a directory (--write DIR)."""
    from maplectl.manifests.schema import schema_document

    if write_dir is None:
        if kind is None:
            raise UsageError(
                "give a KIND or --write DIR", hint="e.g. maplectl schema --write schemas"
            )
        if force:
            raise UsageError("--force goes with --write DIR")
        echo(json.dumps(schema_document(kind), indent=2))
        return
    if kind is not None:
        raise UsageError(
            f"--write writes every schema; leave out {kind}",
            hint=f"maplectl schema {kind} > FILE writes one",
        )
    for path, status in write_schemas(write_dir, force=force):
        echo(f"{status:<9}  {path}")


def _replace(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a new file of our own in the same directory (mkstemp:
    O_CREAT|O_EXCL|O_NOFOLLOW, a fresh random name), then rename it over ``path``: a link left
    in the directory (``.NAME.partial`` pointing at a dotfile) is never written through."""
    import tempfile

    fd, partial = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        umask = os.umask(0o022)
        os.umask(umask)
        os.chmod(partial, 0o666 & ~umask)  # as a plain new file would be, not mkstemp's 0600
        os.replace(partial, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(partial)
        raise


def write_schemas(directory: Path, *, force: bool = False) -> list[tuple[Path, str]]:
    """Write every shipped schema into ``directory``: (path, ``written``, ``unchanged`` or
    ``replaced``) per file.

    A file already there that differs is replaced only with ``force``; without it nothing at all
    is written and :class:`~maplectl.errors.UsageError` names every such file.
    """
    from maplectl.manifests.schema import shipped_schemas

    schemas = shipped_schemas()
    targets = {name: directory / name for name in schemas}
    linked = [p for p in targets.values() if p.is_symlink()]
    if linked:
        raise UsageError(
            f"a symbolic link: {', '.join(map(str, linked))}; nothing was written "
            "(schema --write never writes through a link)",
            hint="remove the link, or write the schemas to another directory",
        )
    blocked = [p for p in targets.values() if p.exists() and not p.is_file()]
    if blocked:
        raise UsageError(
            f"not a file: {', '.join(map(str, blocked))}; nothing was written",
            hint="move it out of the way, or write the schemas to another directory",
        )
    differing = [
        path
        for name, path in targets.items()
        if path.exists() and path.read_bytes() != schemas[name]
    ]
    if differing and not force:
        one = len(differing) == 1
        raise UsageError(
            f"{', '.join(map(str, differing))} {'differs' if one else 'differ'} from the "
            f"schema{'' if one else 's'} this maplectl ships; nothing was written",
            hint=f"--force replaces {'it' if one else 'them'} (an edited copy, or one from "
            "another maplectl version)",
        )
    directory.mkdir(parents=True, exist_ok=True)
    done: list[tuple[Path, str]] = []
    for name, path in targets.items():
        if path.exists() and path not in differing:
            done.append((path, "unchanged"))
            continue
        _replace(path, schemas[name])
        done.append((path, "replaced" if path in differing else "written"))
    return done
