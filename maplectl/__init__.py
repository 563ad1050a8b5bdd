"""maplectl: declarative credits and one-time charges for Maple Billing.

The supported Python API is what ``__all__`` lists; everything else is internal.
"""

from __future__ import annotations

__version__ = "0.1.0"

from maplectl.errors import Diagnostic, MaplectlError
from maplectl.model import Kind, Money, Resource, SourceLocation

__all__ = [
    "Diagnostic",
    "Kind",
    "MaplectlError",
    "Money",
    "Resource",
    "SourceLocation",
    "__version__",
]
