"""The sandbox's own OpenAPI document and its route table agree, and the package surface."""

from __future__ import annotations

import maplectl.sandbox as sandbox_pkg
from maplectl.sandbox import routes
from maplectl.sandbox.validation import operations, request_validator


def test_every_route_is_documented_and_every_operation_served() -> None:
    """The route table and the document list the same (method, path, operationId) triples."""
    served = {(r.method, r.template): r.operation_id for r in routes.ROUTES}
    assert served == operations()


def test_post_operations_have_strict_request_schemas() -> None:
    """Every POST has a compiled request schema that refuses unknown fields."""
    for route in routes.ROUTES:
        validator = request_validator(route.operation_id)
        if route.method == "POST":
            assert validator is not None
            assert not validator.is_valid({"surely_unknown_field": 1})
        else:
            assert validator is None


def test_public_surface() -> None:
    """The package exports what the lead's code imports, and nothing missing."""
    for name in (
        "Sandbox",
        "serve_in_thread",
        "run_server",
        "DEMO_SEED",
        "DEMO_SEED_COMPANY",
        "RunningServer",
        "Clock",
        "ManualClock",
        "SystemClock",
        "Store",
        "Session",
    ):
        assert name in sandbox_pkg.__all__
        assert getattr(sandbox_pkg, name) is not None
    assert sandbox_pkg.DEMO_SEED.is_file()
