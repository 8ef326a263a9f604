"""Structured JSON logs, one object per line, without personal data.

Log lines name requests by method, path (never the query string, which can carry emails or
click ids), status, timings, counts and the producer's key id, never payloads, IP addresses or
user agents. uvicorn's access log is replaced by the request log below because it writes the
client address.
"""

from __future__ import annotations

import logging
import sys
import time
from datetime import UTC, datetime
from typing import Any

import orjson

_STANDARD = frozenset(vars(logging.makeLogRecord({})).keys()) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    """``{"ts", "level", "logger", "msg", ...extra fields}`` per line."""

    def format(self, record: logging.LogRecord) -> str:
        body: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                body[key] = value
        if record.exc_info and record.exc_info[0] is not None:
            body["exception"] = record.exc_info[0].__name__
        return orjson.dumps(body, default=str).decode()


def configure_logging(level: str = "info") -> None:
    """JSON lines on stderr for the refract and uvicorn loggers."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    for name in ("refract", "uvicorn", "uvicorn.error"):
        logger = logging.getLogger(name)
        logger.handlers = [handler]
        logger.setLevel(level.upper())
        logger.propagate = False
    logging.getLogger("uvicorn.access").disabled = True


def uvicorn_log_config(level: str = "info") -> dict[str, Any]:
    """A uvicorn ``log_config`` with the JSON formatter and no access log."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": f"{__name__}.JsonFormatter"}},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "formatter": "json",
                "stream": "ext://sys.stderr",
            }
        },
        "loggers": {
            "uvicorn": {"handlers": ["stderr"], "level": level.upper(), "propagate": False},
            "uvicorn.error": {"handlers": ["stderr"], "level": level.upper(), "propagate": False},
            "uvicorn.access": {"handlers": [], "level": "CRITICAL", "propagate": False},
            "refract": {"handlers": ["stderr"], "level": level.upper(), "propagate": False},
        },
    }


request_log = logging.getLogger("refract.requests")


class RequestLog:
    """ASGI middleware: one log line per HTTP request with status, duration and counts.

    Pure ASGI (not BaseHTTPMiddleware) so it adds no task or body copying on the hot path.
    Routes add fields through ``request.state.log_fields`` and ``request.state.producer``.
    """

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = [500]

        async def sending(message: Any) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            fields: dict[str, Any] = {
                "method": scope.get("method"),
                "path": scope.get("path"),
                "status": status[0],
                "duration_ms": round((time.perf_counter() - start) * 1000, 2),
            }
            state = scope.get("state") or {}
            producer = state.get("producer")
            if producer is not None:
                fields["key_id"] = producer.key_id
            fields.update(state.get("log_fields") or {})
            request_log.info("request", extra=fields)
