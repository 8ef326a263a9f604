"""The ingestion gateway: authenticate, validate, upcast, classify, key, scrub, write.

``Gateway`` (core.py) is the processing core the HTTP route and the adapters share;
``routes.py`` serves ``POST /v1/events`` (docs/ingestion-protocol.md) and the operations
endpoints; ``auth.py`` holds the FastAPI dependencies; ``errors.py`` the dead-letter taxonomy
(docs/dead-letters.md).
"""

from registry_service.gateway.core import Batch, Gateway
from registry_service.gateway.errors import REASONS, GatewayError, SinkUnavailable

__all__ = ["REASONS", "Batch", "Gateway", "GatewayError", "SinkUnavailable"]
