"""maplectl: declarative credits and one-time charges for Maple Billing.

The supported Python API is what ``__all__`` lists; everything else is internal. The flow, one
call per arrow::

    resources = load_manifests(["billing/"])                      # files -> desired
    with MapleClient(api_url=..., company_id=..., token=Secret(...)) as client:
        desired = [Desired.from_resource(r) for r in resources]
        observed = read_observed(client, {d.customer_id for d in desired})   # Maple -> observed
        plan = build_plan(desired, observed, company_id=..., api_url=..., now=...)
        print(plan_text(plan))                                    # plan -> render
        result = Applier(client).run(plan)                        # plan -> apply
"""

from __future__ import annotations

__version__ = "0.1.0"

from maplectl.apply import ActionResult, Applier, ApplyResult, Outcome
from maplectl.client import MapleClient
from maplectl.config import Secret
from maplectl.errors import Diagnostic, MaplectlError
from maplectl.keys import idempotency_key
from maplectl.manifest import load_manifests, validate_paths
from maplectl.match import build_plan
from maplectl.model import Kind, Money, Resource, SourceLocation
from maplectl.plan import Action, ActionType, Desired, Plan
from maplectl.render import plan_json, plan_markdown, plan_text
from maplectl.state import Observed, StateReader, StateWriter, read_observed

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
    "build_plan",
    "idempotency_key",
    "load_manifests",
    "plan_json",
    "plan_markdown",
    "plan_text",
    "read_observed",
    "validate_paths",
]
