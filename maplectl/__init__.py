"""maplectl: declarative credits and one-time charges for Maple Billing.

The supported Python API is what ``__all__`` lists; everything else is internal. It takes the
same path as the CLI (:mod:`maplectl.workflow`), so the same money rules hold::

    desired = load_scope(["billing/"])                            # files -> desired
    with MapleClient(api_url=..., company_id=..., token=Secret(...)) as client:
        plan = make_plan(client, desired, company_id=..., api_url=...)   # Maple -> plan
        print(plan_text(plan))                                    # plan -> render
        result = apply_plan(client, plan, desired=desired)        # plan -> apply

``apply_plan`` (like ``Applier.run``) refuses a plan holding a possible duplicate, a plan breaking
the ``policy:`` of its maplectl.yaml without leave (``make_plan(..., override_reason=...)``), a
charge of a card at once unless ``allow_immediate_charges=True``, and a plan read
from a file (``Plan.from_json``) until ``plan_for_apply(client, saved=plan, ...)`` made it again
from its manifests and Maple and found it unchanged. It revokes a credit only where a manifest
says ``metadata.revoke: true`` (the plan's ``revoke`` actions); nothing else ever does.

``make_plan`` resolves the customers manifests name by identifier (``customer: {identifier:
...}``) to their Maple ids. Planning with ``read_observed`` and ``build_plan`` instead, resolve
them first: ``desired = resolve_customers(client, desired)``; ``build_plan``, which reads
nothing, refuses an entry whose customer is not an id. ``apply_plan`` evaluates the policy of
the manifests' maplectl.yaml again, whoever built the plan, and refuses a plan whose recorded
violations are not those (a ``build_plan`` given no policy, where the file has one);
``Applier.run``, lower down, goes by the violations the plan records.
"""

from __future__ import annotations

import importlib as _importlib
import typing as _typing

__version__ = "0.1.0"

# Importing maplectl (as every command does, for __version__) must not import httpx, yaml,
# jsonschema or deepdiff: each public name is imported from its module on first use (PEP 562).
_HOMES = {
    "Applier": "maplectl.apply",
    "Secret": "maplectl.config",
    "Diagnostic": "maplectl.errors",
    "MaplectlError": "maplectl.errors",
    "load_manifests": "maplectl.manifests.loader",
    "validate_paths": "maplectl.manifests.loader",
    "MapleClient": "maplectl.maple.client",
    "Observed": "maplectl.maple.reader",
    "StateReader": "maplectl.maple.reader",
    "StateWriter": "maplectl.maple.reader",
    "read_observed": "maplectl.maple.reader",
    "Kind": "maplectl.model",
    "Money": "maplectl.model",
    "Resource": "maplectl.model",
    "SourceLocation": "maplectl.model",
    "build_plan": "maplectl.plan.builder",
    "idempotency_key": "maplectl.plan.keys",
    "Action": "maplectl.plan.records",
    "ActionType": "maplectl.plan.records",
    "Desired": "maplectl.plan.records",
    "Plan": "maplectl.plan.records",
    "plan_json": "maplectl.render",
    "plan_markdown": "maplectl.render",
    "plan_text": "maplectl.render",
    "ActionResult": "maplectl.results",
    "ApplyResult": "maplectl.results",
    "Outcome": "maplectl.results",
    "apply_plan": "maplectl.workflow",
    "check_saved_plan": "maplectl.workflow",
    "load_scope": "maplectl.workflow",
    "make_plan": "maplectl.workflow",
    "plan_for_apply": "maplectl.workflow",
    "resolve_customers": "maplectl.workflow",
}

if _typing.TYPE_CHECKING:
    from maplectl.apply import Applier
    from maplectl.config import Secret
    from maplectl.errors import Diagnostic, MaplectlError
    from maplectl.manifests.loader import load_manifests, validate_paths
    from maplectl.maple.client import MapleClient
    from maplectl.maple.reader import Observed, StateReader, StateWriter, read_observed
    from maplectl.model import Kind, Money, Resource, SourceLocation
    from maplectl.plan.builder import build_plan
    from maplectl.plan.keys import idempotency_key
    from maplectl.plan.records import Action, ActionType, Desired, Plan
    from maplectl.render import plan_json, plan_markdown, plan_text
    from maplectl.results import ActionResult, ApplyResult, Outcome
    from maplectl.workflow import (
        apply_plan,
        check_saved_plan,
        load_scope,
        make_plan,
        plan_for_apply,
        resolve_customers,
    )


def __getattr__(name: str) -> object:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'maplectl' has no attribute {name!r}")
    value = getattr(_importlib.import_module(home), name)
    globals()[name] = value  # once imported, a plain attribute
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


__all__ = [
    "Action",
    "ActionResult",
    "ActionType",
    "Applier",
    "ApplyResult",
    "Desired",
    "Diagnostic",
    "Kind",
    "MapleClient",
    "MaplectlError",
    "Money",
    "Observed",
    "Outcome",
    "Plan",
    "Resource",
    "Secret",
    "SourceLocation",
    "StateReader",
    "StateWriter",
    "__version__",
    "apply_plan",
    "build_plan",
    "check_saved_plan",
    "idempotency_key",
    "load_manifests",
    "load_scope",
    "make_plan",
    "plan_for_apply",
    "plan_json",
    "plan_markdown",
    "plan_text",
    "read_observed",
    "resolve_customers",
    "validate_paths",
]
