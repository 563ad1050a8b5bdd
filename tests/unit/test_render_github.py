"""`validate --format github`: one GitHub workflow command per problem, escaped as the runner
decodes it (``@actions/core``'s escapeData / escapeProperty)."""

from __future__ import annotations

import re

from maplectl.errors import Diagnostic
from maplectl.render_github import (
    escape_data,
    escape_property,
    github_annotation,
    github_annotations,
)

COMMAND = re.compile(r"^::error (?P<props>[^:]*)::(?P<message>.*)$")


def unescape(text: str) -> str:
    """What the runner shows: %XX decoded (the toolkit's inverse, %25 last)."""
    for code, char in (("%0D", "\r"), ("%0A", "\n"), ("%3A", ":"), ("%2C", ","), ("%25", "%")):
        text = text.replace(code, char)
    return text


def parse(line: str) -> tuple[dict[str, str], str]:
    """Split a command the way the runner does: properties at ',' and the first '='."""
    match = COMMAND.match(line)
    assert match, line
    props = dict(p.split("=", 1) for p in match["props"].split(","))
    return {k: unescape(v) for k, v in props.items()}, unescape(match["message"])


def test_message_escapes_percent_cr_and_lf_and_keeps_colons_and_commas() -> None:
    """In the message %, CR and LF are encoded (% first, so a literal %0A stays literal);
    ':' and ',' are left as they are."""
    assert escape_data("50% off\r\nnext: a, b %0A") == "50%25 off%0D%0Anext: a, b %250A"


def test_property_escapes_colon_and_comma_too() -> None:
    """A file name is a property: ':' and ',' would end it, so they are encoded as well."""
    assert escape_property("billing/a,b:c%\n.yaml") == "billing/a%2Cb%3Ac%25%0A.yaml"


def test_one_line_per_problem_that_decodes_back_to_the_problem() -> None:
    """A problem whose file, message and hint hold every special character comes out as one
    line whose properties and message decode back to exactly what the text format says."""
    problem = Diagnostic(
        file="billing/q4,goodwill:v2.yaml",
        line=12,
        column=5,
        message='must be a whole number of cents, got 19.99\r\nsee "50%" :: below',
        address="Credit/acme-goodwill",
        field="spec.amount.value_in_cents",
        hint="write 1999, not 19.99%0A",
    )
    line = github_annotation(problem)
    assert "\n" not in line and "\r" not in line
    props, message = parse(line)
    assert props == {"file": "billing/q4,goodwill:v2.yaml", "line": "12", "col": "5"}
    assert message == str(problem).split(": ", 1)[1]
    assert line.startswith("::error file=billing/q4%2Cgoodwill%3Av2.yaml,line=12,col=5::")


def test_a_problem_without_a_position_names_only_the_file() -> None:
    """line 0 (no position) leaves out line and col rather than point at a line that is not
    there; no problems print nothing."""
    problem = Diagnostic(file="billing/x.yaml", line=0, column=0, message="cannot read")
    assert github_annotation(problem) == "::error file=billing/x.yaml::cannot read"
    assert github_annotations([]) == ""
    assert github_annotations([problem, problem]).count("\n") == 2
