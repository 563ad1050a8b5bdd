"""GitHub Actions workflow commands for problems in manifests (``validate --format github``). Pure.

A line ``::error file=F,line=L,col=C::MESSAGE`` on a step's output becomes an annotation on that
line of the file in the pull request's diff. The runner splits the command at ``::`` and
the properties at ``,`` and ``=``, and decodes ``%XX``, so (as in GitHub's own toolkit,
``@actions/core``'s ``escapeData`` and ``escapeProperty``):

* the message escapes ``%`` (first), ``\\r`` and ``\\n``, so it stays one line and a ``%0A``
  written in a manifest is not read as a line break;
* a property value (the file name) escapes those and also ``:`` and ``,``.
"""

from __future__ import annotations

from collections.abc import Iterable

from maplectl.errors import Diagnostic

__all__ = ["escape_data", "escape_property", "github_annotation", "github_annotations"]


def escape_data(text: str) -> str:
    """A workflow command's message: ``%``, CR and LF percent-encoded."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """A workflow command's property value: as :func:`escape_data`, and ``:`` and ``,`` too."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def github_annotation(problem: Diagnostic) -> str:
    """One ``::error`` line: the file, line and column as properties, then what the text
    format says after the position (``address: field: message (hint)``)."""
    props = [f"file={escape_property(problem.file)}"]
    if problem.line >= 1:
        props.append(f"line={problem.line}")
        if problem.column >= 1:
            props.append(f"col={problem.column}")
    return f"::error {','.join(props)}::{escape_data(problem.what())}"


def github_annotations(problems: Iterable[Diagnostic]) -> str:
    """One annotation line per problem, each ending in a newline ("" for none)."""
    return "".join(github_annotation(p) + "\n" for p in problems)
