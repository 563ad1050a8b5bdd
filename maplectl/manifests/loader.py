"""Strict YAML loading of manifests and maplectl.yaml; the only module that imports yaml.

Manifests decide money, so the reader refuses what YAML would silently reinterpret: duplicate
keys, merge keys, anchors and aliases (also an alias bomb's fuse), non-string keys, tags, tabs
in indentation, files that are not UTF-8 or are over :data:`MAX_FILE_BYTES`. Scalars are typed by
YAML 1.1's rules (what PyYAML and most tools do), but the reader keeps the text the user wrote
for every value YAML did not read as a string, so the schema's messages can say
``got NO, which YAML reads as the boolean false`` and tell how to quote it.

For speed the C parser composes nodes without typing them (``CBaseLoader``); the scalars are
typed here with PyYAML's own YAML 1.1 patterns. Without libyaml the pure-Python loader is used.
"""

from __future__ import annotations

import gc
import os
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from yaml.resolver import Resolver

from maplectl.config import governing_config
from maplectl.errors import Diagnostic, ManifestError
from maplectl.manifests import workers
from maplectl.manifests.documents import (
    LocatedDocument,
    Point,
    check_documents,
    problems_across,
    problems_of,
)
from maplectl.manifests.messages import Problem
from maplectl.manifests.schema import validate_document
from maplectl.model import Resource

__all__ = [
    "CONFIG_FILE_NAME",
    "MAX_FILE_BYTES",
    "check_paths",
    "load_config",
    "load_manifests",
    "validate_paths",
]

MAX_FILE_BYTES = 5 * 1024 * 1024
"""Largest manifest file read (5 MiB); larger files are refused, not truncated."""

CONFIG_FILE_NAME = "maplectl.yaml"
"""The project settings file; skipped when looking for manifests."""

_Loader: Any = getattr(yaml, "CBaseLoader", yaml.BaseLoader)

_STR = "tag:yaml.org,2002:str"
_MAP = "tag:yaml.org,2002:map"
_SEQ = "tag:yaml.org,2002:seq"
_NULL = "tag:yaml.org,2002:null"
_BOOL = "tag:yaml.org,2002:bool"
_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"
_TIMESTAMP = "tag:yaml.org,2002:timestamp"
_MERGE = "tag:yaml.org,2002:merge"

# PyYAML's YAML 1.1 implicit typing table, keyed by first character (wildcards appended).
_IMPLICIT: dict[str | None, list[tuple[str, re.Pattern[str]]]] = {
    first: [*rules, *Resolver.yaml_implicit_resolvers.get(None, [])]
    for first, rules in Resolver.yaml_implicit_resolvers.items()
}
_CONSTRUCT = SafeConstructor()
_BUILD = {
    _BOOL: _CONSTRUCT.construct_yaml_bool,
    _INT: _CONSTRUCT.construct_yaml_int,
    _FLOAT: _CONSTRUCT.construct_yaml_float,
    _TIMESTAMP: _CONSTRUCT.construct_yaml_timestamp,
}
_PLAIN_DECIMAL = re.compile(r"[-+]?(0|[1-9][0-9_]*)")
_WHAT = {
    _BOOL: "a boolean",
    _INT: "a number",
    _FLOAT: "a number",
    _NULL: "nothing",
    _TIMESTAMP: "a date",
}


def _plain_tag(text: str) -> str:
    for tag, pattern in _IMPLICIT.get(text[:1] if text else "", ()):
        if pattern.match(text):
            return tag
    return _STR


_TAG_CACHE: dict[str, str] = {}
_intern = sys.intern
"""Mapping keys repeat in every document: interned, they are one string each, which also
makes the documents validate's workers send a third smaller."""
_DEFAULT_TAGS = {ScalarNode: _STR, SequenceNode: _SEQ, MappingNode: _MAP}


class _TypingLoader(_Loader):  # type: ignore[misc]
    """The parser's loader with YAML 1.1 typing done in one cheap call per node.

    PyYAML's resolver walks path-resolver tables for every node; manifests use none, so these
    overrides skip that and type plain scalars straight from the implicit-typing table.
    """

    def descend_resolver(self, current_node: Any, current_index: Any) -> None:
        return None

    def ascend_resolver(self) -> None:
        return None

    def resolve(self, kind: type[Node], value: Any, implicit: tuple[bool, bool]) -> str:
        if kind is not ScalarNode:
            return _DEFAULT_TAGS[kind]
        if not implicit[0]:
            return _STR
        tag = _TAG_CACHE.get(value)
        if tag is None:
            tag = _plain_tag(value)
            if len(_TAG_CACHE) < 8192:  # keys and enum values repeat in every document
                _TAG_CACHE[value] = tag
        return tag


class _Walker:
    """Turns one composed document into plain values, recording positions and problems."""

    __slots__ = ("aliases", "anchors", "doc", "lean", "seen")

    def __init__(
        self,
        doc: LocatedDocument,
        anchors: dict[Point, str],
        aliases: list[tuple[Point, str]],
        lean: bool = False,
    ) -> None:
        self.doc = doc
        self.anchors = anchors
        self.aliases = aliases
        self.seen: set[int] | None = set() if (anchors or aliases) else None
        self.lean = lean
        """Record the positions of the top two levels only (``metadata``, ``metadata.name``),
        all that the checks between documents point at; a third of the walk's time."""

    def problem(self, at: Point, field: str, message: str, hint: str | None = None) -> None:
        self.doc.problems.append((at, Problem(field, message, hint)))

    def walk(self, node: Node, path: str) -> Any:
        if self.seen is not None and not self._first_visit(node, path):
            return None
        cls = node.__class__
        if cls is ScalarNode:
            return self.scalar(node, path)  # type: ignore[arg-type]
        if cls is MappingNode:
            return self.mapping(node, path)  # type: ignore[arg-type]
        if cls is SequenceNode:
            self._check_tag(node, _SEQ, path)
            items = []
            values, keys = self.doc.values, self.doc.keys
            record = not self.lean or "." not in path
            for index, item in enumerate(node.value):
                item_path = f"{path}.{index}" if path else str(index)
                if record:
                    mark = item.start_mark
                    values[item_path] = keys[item_path] = (mark.line + 1, mark.column + 1)
                items.append(self.walk(item, item_path))
            return items
        raise TypeError(f"unexpected YAML node {cls.__name__}")  # pragma: no cover

    def _first_visit(self, node: Node, path: str) -> bool:
        assert self.seen is not None
        if id(node) in self.seen:
            at, name = self.aliases.pop(0) if self.aliases else (_point(node), "?")
            self.problem(
                at, path, f"YAML aliases (*{name}) are not supported", "write the value out in full"
            )
            return False
        self.seen.add(id(node))
        name = self.anchors.pop(_point(node), "")
        if name:
            self.problem(
                _point(node),
                path,
                f"YAML anchors (&{name}) are not supported",
                "write the value out in full",
            )
        return True

    def _check_tag(self, node: Node, expected: str, path: str) -> None:
        if node.tag != expected:
            tag = node.tag.replace("tag:yaml.org,2002:", "!!")
            self.problem(
                _point(node), path, f"YAML tags such as {tag} are not supported", "remove the tag"
            )

    def scalar(self, node: ScalarNode, path: str) -> Any:
        tag = node.tag
        text = node.value
        if tag == _STR:
            return text
        if tag != _NULL and tag not in _BUILD:
            self._check_tag(node, _STR, path)
            return text
        self.doc.raw[path] = text
        if tag == _NULL:
            return None
        value = _BUILD[tag](node)
        if tag == _INT and not _PLAIN_DECIMAL.fullmatch(text):
            self.problem(
                _point(node),
                path,
                f"{text} is read by YAML 1.1 as the number {value}",
                f'write {value}, or quote it if it is text: "{text}"',
            )
        elif tag == _FLOAT and (value != value or value in (float("inf"), float("-inf"))):
            self.problem(_point(node), path, f"must be a finite number, got {text}")
        return value

    def mapping(self, node: MappingNode, path: str) -> dict[str, Any]:
        if node.tag != _MAP:
            self._check_tag(node, _MAP, path)
        out: dict[str, Any] = {}
        values, keys = self.doc.values, self.doc.keys
        prefix = path + "." if path else ""
        record = not self.lean or "." not in path
        for key_node, value_node in node.value:
            if key_node.tag == _STR and key_node.__class__ is ScalarNode:
                key: str = _intern(key_node.value)
            else:
                self.bad_key(key_node, path)
                continue
            key_path = prefix + key
            if key in out:
                first = next(
                    n.start_mark.line + 1
                    for n, _ in node.value
                    if n.tag == _STR and n.__class__ is ScalarNode and n.value == key
                )
                self.problem(
                    _point(key_node),
                    key_path,
                    f'duplicate key "{key}" (first at line {first})',
                    "remove one of them",
                )
                continue
            if record:
                mark = key_node.start_mark
                keys[key_path] = (mark.line + 1, mark.column + 1)
                mark = value_node.start_mark
                values[key_path] = (mark.line + 1, mark.column + 1)
            if value_node.tag == _STR and self.seen is None and value_node.__class__ is ScalarNode:
                out[key] = value_node.value  # the common case, without a call per value
            else:
                out[key] = self.walk(value_node, key_path)
        return out

    def bad_key(self, node: Node, path: str) -> None:
        if node.__class__ is not ScalarNode:
            self.problem(_point(node), path, "keys must be plain text, not a mapping or a list")
        elif node.tag == _MERGE:
            self.doc.incomplete.add(path)
            self.problem(
                _point(node),
                f"{path}.<<" if path else "<<",
                "merge keys (<<) are not supported",
                "write the fields out in full",
            )
        elif node.tag in _WHAT:
            text = node.value
            self.problem(
                _point(node),
                f"{path}.{text}" if path else text,
                f"keys must be text; YAML reads {text or 'an empty key'} as {_WHAT[node.tag]}",
                f'quote it: "{text}"',
            )
        else:
            self._check_tag(node, _STR, path)


def _is_empty(node: Node) -> bool:
    return node.__class__ is ScalarNode and node.tag == _NULL


def _point(node: Node) -> Point:
    return (node.start_mark.line + 1, node.start_mark.column + 1)


def _file_problem(
    file: str, message: str, hint: str | None = None, at: Point = (1, 1)
) -> Diagnostic:
    return Diagnostic(file=file, line=at[0], column=at[1], message=message, hint=hint)


def _read_bytes(file: str) -> tuple[bytes, int]:
    """The file's bytes, or (if it holds more than ``MAX_FILE_BYTES``) its size and no bytes.

    Read with ``os.read`` calls sized by ``fstat``: ``open().read(MAX_FILE_BYTES + 1)`` would
    allocate the whole 5 MiB limit for every file (10,000 small files: a quarter of a second).
    """
    fd = os.open(file, os.O_RDONLY | getattr(os, "O_BINARY", 0))
    try:
        stat_size = os.fstat(fd).st_size
        if stat_size > MAX_FILE_BYTES:
            return b"", stat_size
        chunks: list[bytes] = []
        size = 0
        # To the end (a read that returns nothing): a read may return less than asked before
        # the end (a signal, FUSE or network file systems), or the file be longer than fstat
        # said. The first read is sized to take a whole regular file at once.
        while size <= MAX_FILE_BYTES:
            chunk = os.read(fd, max(stat_size + 1 - size, 65536) if size else stat_size + 1)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if size > MAX_FILE_BYTES:
            return b"", size
        return (chunks[0] if len(chunks) == 1 else b"".join(chunks)), size
    finally:
        os.close(fd)


def _read_text(file: str, diagnostics: list[Diagnostic]) -> str | None:
    """The file's text, or None after adding a diagnostic (too big, not UTF-8, unreadable)."""
    limit = f"the limit is {MAX_FILE_BYTES // (1024 * 1024)} MiB per file"
    try:
        data, size = _read_bytes(file)
    except OSError as exc:
        diagnostics.append(_file_problem(file, f"cannot read: {exc.strerror or exc}"))
        return None
    if size > MAX_FILE_BYTES:
        diagnostics.append(
            _file_problem(
                file,
                f"is {size / (1024 * 1024):.1f} MiB; {limit}",
                "split it into several files",
            )
        )
        return None
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        diagnostics.append(
            _file_problem(file, "is UTF-16; manifests must be UTF-8", "save the file as UTF-8")
        )
        return None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        before = data[: exc.start].decode("utf-8", errors="replace")
        line = before.count("\n") + 1
        column = len(before) - (before.rfind("\n") + 1) + 1
        diagnostics.append(
            _file_problem(
                file,
                f"is not valid UTF-8 (byte 0x{data[exc.start]:02x})",
                "save the file as UTF-8",
                (line, column),
            )
        )
        return None
    return text.removeprefix("\ufeff")


def _tab_problems(file: str, text: str) -> list[Diagnostic]:
    found = []
    for number, line in enumerate(text.splitlines(), start=1):
        content = line.lstrip(" \t")
        indent = line[: len(line) - len(content)]
        if "\t" in indent and content and not content.startswith("#"):
            found.append(
                _file_problem(
                    file,
                    "tab character in indentation",
                    "indent with spaces",
                    (number, indent.index("\t") + 1),
                )
            )
    return found


def _yaml_problem(file: str, text: str, exc: yaml.YAMLError) -> Diagnostic:
    if isinstance(exc, yaml.reader.ReaderError):
        before = text.encode("utf-8")[: exc.position].decode("utf-8", errors="replace")
        at = (before.count("\n") + 1, len(before) - (before.rfind("\n") + 1) + 1)
        return _file_problem(
            file, f"contains a character YAML does not allow ({exc.reason})", "remove it", at
        )
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    at = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
    problem = getattr(exc, "problem", None) or str(exc)
    hint = None
    if "mapping values are not allowed" in problem:
        hint = "quote values that contain ': '"
    elif "found undefined alias" in problem or "found duplicate anchor" in problem:
        hint = "YAML anchors and aliases are not supported; write values out in full"
    return _file_problem(file, f"invalid YAML: {problem}", hint, at)


def _scan_anchors(text: str) -> tuple[dict[Point, str], list[tuple[Point, str]]]:
    """Positions of anchors (&name) and aliases (*name); run only if the text may hold one."""
    anchors: dict[Point, str] = {}
    aliases: list[tuple[Point, str]] = []
    loader = _Loader(text)
    try:
        while loader.check_event():
            event = loader.get_event()
            name = getattr(event, "anchor", None)
            if name is None:
                continue
            at = (event.start_mark.line + 1, event.start_mark.column + 1)
            if isinstance(event, yaml.AliasEvent):
                aliases.append((at, name))
            else:
                anchors[at] = name
    except yaml.YAMLError:
        pass  # reported by the composing pass
    finally:
        loader.dispose()
    return anchors, aliases


def _documents(
    file: str, diagnostics: list[Diagnostic], *, lean: bool = False, text: str | None = None
) -> list[LocatedDocument]:
    """Every non-empty document of one file, located; problems of the file itself go to
    ``diagnostics``. ``lean``: with the positions of the top two levels only (see _Walker).
    ``text``: the file's text, already read (a pipe can be read once only)."""
    if text is None:
        text = _read_text(file, diagnostics)
    if text is None:
        return []
    if "\t" in text:
        tabs = _tab_problems(file, text)
        if tabs:
            diagnostics.extend(tabs)
            return []
    anchors: dict[Point, str] = {}
    aliases: list[tuple[Point, str]] = []
    if "&" in text or "*" in text:
        anchors, aliases = _scan_anchors(text)
    docs: list[LocatedDocument] = []
    loader = _TypingLoader(text)
    try:
        while loader.check_node():
            root = loader.get_node()
            if _is_empty(root):
                continue  # an empty document (or one of only comments) holds nothing
            doc = LocatedDocument(file=file, start=_point(root), value=None)
            doc.value = _Walker(doc, anchors, aliases, lean).walk(root, "")
            docs.append(doc)
    except yaml.YAMLError as exc:
        diagnostics.append(_yaml_problem(file, text, exc))
        anchors, aliases = {}, []  # those not reached are behind the syntax error
    finally:
        loader.dispose()
    for at, name in [*anchors.items(), *aliases]:
        message = f"YAML anchors and aliases ({name}) are not supported"
        diagnostics.append(_file_problem(file, message, "write the value out in full", at))
    return docs


def _discover(
    paths: Sequence[str | os.PathLike[str]], diagnostics: list[Diagnostic]
) -> tuple[list[str], bool]:
    """Manifest files under ``paths`` in a stable order, each once, named as the user named them;
    and whether every one is a regular file (a pipe given as a path, ``/dev/stdin`` say, can be
    read once only, so it must be read where it is checked).

    In folders only regular files (or links to them) are taken; anything else named ``*.yaml``
    (a pipe, a socket, a device) is a problem, never read: reading a pipe nobody writes to
    would wait forever.
    """
    seen: set[str] = set()
    files: list[str] = []
    regular = True
    for given in paths:
        top = os.fspath(given)
        if os.path.isdir(top):
            found = _files_under(top, diagnostics)
        elif os.path.exists(top):
            if os.path.basename(top) == CONFIG_FILE_NAME:
                continue
            found = [(top, os.path.abspath(top))]
            regular = regular and os.path.isfile(top)
        else:
            diagnostics.append(_file_problem(top, "no such file or directory"))
            continue
        for file, absolute in found:  # abspath: realpath would cost a syscall per component
            if absolute not in seen:
                seen.add(absolute)
                files.append(file)
    return files, regular


def _files_under(top: str, diagnostics: list[Diagnostic]) -> list[tuple[str, str]]:
    """The manifest files in folder ``top`` and below: (path as found, absolute path), sorted
    by path components. Hidden entries are skipped, and so are links to folders (as os.walk
    does); a folder that cannot be listed is a problem, not a folder holding nothing."""
    found: list[tuple[str, str]] = []
    folders = [top]
    while folders:
        folder = folders.pop()
        absolute = os.path.abspath(folder)  # once per folder, not per file
        try:
            with os.scandir(folder) as entries:
                listed = list(entries)
        except OSError as exc:  # never a folder silently holding nothing
            diagnostics.append(
                _file_problem(
                    folder,
                    f"cannot list this folder: {exc.strerror or exc}; its manifests are not read",
                    "let maplectl read it, or leave it out of the paths given",
                )
            )
            continue
        for entry in listed:
            name = entry.name
            if name.startswith("."):
                continue
            try:
                is_dir = entry.is_dir()  # the type the folder records: no system call
            except OSError:
                is_dir = False
            if is_dir:
                if not entry.is_symlink():
                    folders.append(entry.path)
                continue
            if not name.endswith((".yaml", ".yml")) or name == CONFIG_FILE_NAME:
                continue
            try:
                regular = entry.is_file()
            except OSError:  # a link that cannot be followed (a loop): reading it says why
                regular = False
            # A broken link is taken: reading it says why it cannot be read, as for any file.
            if not regular and os.path.exists(entry.path):
                diagnostics.append(
                    _file_problem(
                        entry.path,
                        "is not a regular file (a pipe, socket or device); it is not read",
                        "remove it, or give it as an argument of its own",
                    )
                )
                continue
            found.append((entry.path, os.path.join(absolute, name)))
    # By path components below ``top`` (every path found starts with ``top`` itself, so
    # cutting it off is what relpath would do, without its syscalls and normalising).
    cut = len(top)
    found.sort(key=lambda p: p[0][cut:].lstrip(os.sep).split(os.sep))
    return found


def _sorted(diagnostics: list[Diagnostic]) -> list[Diagnostic]:
    return sorted(diagnostics, key=lambda d: (d.file, d.line, d.column, d.message))


def _grouped(
    paths: Sequence[str | os.PathLike[str]], diagnostics: list[Diagnostic]
) -> tuple[list[tuple[str, Path | None]], bool]:
    """The manifest files under ``paths``, each with the ``maplectl.yaml`` that governs it, and
    whether all are regular files (see :func:`_discover`).

    Names and identities clash only within one company: the files under one maplectl.yaml
    (the nearest, as plan finds it) are checked together, never with another's.
    """
    governed: dict[str, Path | None] = {}
    files = []
    found, regular = _discover(paths, diagnostics)
    for file in found:
        folder = os.path.dirname(file) or "."
        if folder not in governed:
            governed[folder] = governing_config(folder)
        files.append((file, governed[folder]))
    return files, regular


class _GcPaused:
    """Loading allocates millions of small objects and no cycles; the cyclic collector would
    rescan them again and again (about a fifth of the time), so it waits until we are done."""

    def __enter__(self) -> None:
        self.collecting = gc.isenabled()
        gc.disable()

    def __exit__(self, *_exc: object) -> None:
        if self.collecting:
            gc.enable()


def validate_paths(
    paths: Sequence[str | os.PathLike[str]],
) -> tuple[list[Resource], list[Diagnostic]]:
    """Load and check every manifest under ``paths``; never raises for a problem in them.

    ``paths`` are files or directories (searched recursively for ``*.yaml``/``*.yml``, in sorted
    order, skipping hidden entries and ``maplectl.yaml``). Returns the Resources of the documents
    without problems, sorted by (kind, name), and every problem found, sorted by position.
    """
    diagnostics: list[Diagnostic] = []
    groups: dict[Path | None, list[LocatedDocument]] = {}
    with _GcPaused():
        for file, config in _grouped(paths, diagnostics)[0]:
            groups.setdefault(config, []).extend(_documents(file, diagnostics))
        resources: list[Resource] = []
        problems: list[Diagnostic] = []
        for docs in groups.values():
            found, wrong = check_documents(docs)
            resources += found
            problems += wrong
        if len(groups) > 1:
            resources.sort(key=lambda r: (r.kind.value, r.name))
    return resources, _sorted(diagnostics + problems)


FILES_PER_WORKER = 32
"""``check_paths`` gives each worker process at least this many files (so it shares the work
only from 64 files on): fewer do not pay for the worker's start."""

_Checked = tuple[list[tuple[Path | None, Any, bool]], list[Diagnostic]]


def _check_files(files: list[tuple[str, Path | None]], to_send: bool) -> _Checked:
    """Every document of ``files`` checked on its own: (its company, itself, has problems), and
    the problems. ``to_send``: the documents go to another process, so they are packed, with
    only what :func:`problems_across` needs of them (:meth:`LocatedDocument.packed`)."""
    diagnostics: list[Diagnostic] = []
    checked: list[tuple[Path | None, Any, bool]] = []
    for file, config in files:
        # Read lean (what the checks between documents need), and again in full only when a
        # document has a problem, which may point at any field.
        text = _read_text(file, diagnostics)
        if text is None:
            continue
        docs = _documents(file, diagnostics, lean=True, text=text)
        found = [problems_of(doc) for doc in docs]
        if any(found):
            docs = _documents(file, [], lean=False, text=text)
            found = [problems_of(doc) for doc in docs]
        for doc, problems in zip(docs, found, strict=True):
            diagnostics += problems
            checked.append((config, doc.packed() if to_send else doc, bool(problems)))
    return checked, diagnostics


def check_paths(
    paths: Sequence[str | os.PathLike[str]], *, jobs: int | None = None
) -> tuple[int, list[Diagnostic]]:
    """What ``maplectl validate`` reports: how many documents under ``paths`` are valid, and
    every problem, exactly as :func:`validate_paths` finds them (without building Resources).

    ``jobs``: processes to share the files among (None: as many as there are CPUs to use, see
    :func:`maplectl.manifests.workers.available_jobs`; 1: this process only). Each document is
    read and checked in one of them; the checks between documents run here, on all of them.
    """
    diagnostics: list[Diagnostic] = []
    with _GcPaused():
        files, regular = _grouped(paths, diagnostics)
        wanted = workers.available_jobs() if jobs is None else max(1, jobs)
        # Each process gets files enough to pay for its start; a pipe is read only here.
        wanted = min(wanted, len(files) // FILES_PER_WORKER) if regular else 1
        groups: dict[Path | None, list[LocatedDocument]] = {}
        failed: set[int] = set()
        for checked, found in workers.map_shares(_check_files, workers.split(files, wanted)):
            diagnostics += found
            for config, item, has_problems in checked:
                doc = item if type(item) is LocatedDocument else LocatedDocument.unpacked(item)
                groups.setdefault(config, []).append(doc)
                if has_problems:
                    failed.add(id(doc))
        for docs in groups.values():
            for doc, diagnostic in problems_across(docs):
                failed.add(id(doc))
                diagnostics.append(diagnostic)
        valid = sum(len(docs) for docs in groups.values()) - len(failed)
    return valid, _sorted(diagnostics)


def load_manifests(paths: Sequence[str | os.PathLike[str]]) -> list[Resource]:
    """The Resources under ``paths``, sorted by (kind, name).

    Raises :class:`~maplectl.errors.ManifestError` holding every problem in every file if there
    is any problem at all.
    """
    resources, diagnostics = validate_paths(paths)
    if diagnostics:
        raise ManifestError(diagnostics)
    return resources


def load_config(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The settings in a ``maplectl.yaml``, strictly read and checked against its schema.

    Allowed: ``company_id`` (starts with ``cmp_``), ``environment`` (production or test),
    ``api_url`` (http or https), ``parallelism`` (1-32) and ``timeout_seconds`` (0-600); all
    optional. An empty file gives
    ``{}``. Raises :class:`~maplectl.errors.ManifestError` with file:line:col diagnostics.
    """
    file = os.fspath(path)
    diagnostics: list[Diagnostic] = []
    docs = _documents(file, diagnostics) if os.path.exists(file) else []
    if not os.path.exists(file):
        diagnostics.append(_file_problem(file, "no such file"))
    for extra in docs[1:]:
        diagnostics.append(_file_problem(file, "holds more than one document", None, extra.start))
    settings: dict[str, Any] = {}
    if docs:
        doc = docs[0]
        diagnostics += [doc.diagnostic(problem, at) for at, problem in doc.problems]
        if isinstance(doc.value, dict):
            settings = doc.value
            for problem in validate_document("config", settings, doc.raw):
                diagnostics.append(doc.diagnostic(problem))
        else:
            diagnostics.append(
                doc.diagnostic(
                    Problem("", "must be a mapping of settings", "e.g. company_id: cmp_demo")
                )
            )
    if diagnostics:
        raise ManifestError(_sorted(diagnostics))
    return settings
