"""Adapters: Segment's Tracking API, CRM lead webhooks and access logs onto the contracts.

segment.py, crm.py and logs.py are pure mapping functions (raw payload -> canonical event or
AdapterError); routes.py mounts them on the gateway. docs/adapters.md has the mapping tables.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from registry_service.adapters.errors import AdapterError

if TYPE_CHECKING:
    from fastapi import APIRouter


def adapters_router() -> APIRouter:
    """The adapters' APIRouter (imported lazily: the pure adapters need no web framework)."""
    from registry_service.adapters.routes import adapters_router as build

    return build()


__all__ = ["AdapterError", "adapters_router"]
