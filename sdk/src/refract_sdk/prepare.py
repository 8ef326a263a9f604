"""Turn what the caller tracked into the bytes that go on the wire (and into the spool).

Preparation stamps what the emitter owns - ``event_id`` and ``occurred_at`` when absent
(``occurred_at`` from the time ``track()`` was called, not the time the sender got to it),
``producer`` from the options, ``dedup_key`` - and serializes the event once. ``sent_at`` is
deliberately *not* part of the prepared bytes: it changes with every attempt and is spliced in
when a batch is encoded (``batching.encode_batch``), so retries resend identical events except
for ``sent_at``.

It runs in the sender thread in production mode, keeping ``track()`` to a queue append, and in
the caller's thread in strict mode (so that errors raise where the event was built), in sync
mode, and when a spool is configured (the spool must hold the final bytes before ``track()``
returns).
"""

from __future__ import annotations

import importlib
import json
import logging
import uuid
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ValidationError

from refract_sdk.clock import format_ms
from refract_sdk.dedup import dedup_key_from_values
from refract_sdk.errors import EventTooLargeError, InvalidEventError, Reason, RefractError
from refract_sdk.options import EmitterOptions

__all__ = ["SENT_AT_BYTES", "PreparedEvent", "Preparer"]

log = logging.getLogger("refract_sdk")

SENT_AT_BYTES = len(b'"sent_at":"2026-03-14T09:26:53.589Z",')
"""What splicing ``sent_at`` adds to an event; counted against ``max_event_bytes``."""


class PreparedEvent:
    """An event ready to send: its id, its JSON without ``sent_at``, and what to report."""

    __slots__ = ("body", "event_id", "source", "spool_segment")

    def __init__(
        self, event_id: str, body: bytes, source: Any, spool_segment: tuple[str, int] | None = None
    ) -> None:
        self.event_id = event_id
        self.body = body
        self.source = source
        """What ``on_error`` receives: the tracked object, or the parsed dict of a spooled line."""
        self.spool_segment = spool_segment
        """(generation, segment number) of the spool line holding this event, if any."""


def _dedup_functions() -> tuple[Any, Any] | None:
    """``(dedup_key, catalogue)`` once the generated catalogue and upcasters are importable."""
    try:
        catalogue = importlib.import_module("refract_sdk._catalogue")
        dedup = importlib.import_module("refract_sdk.dedup")
        importlib.import_module("refract_sdk.upcasting")
    except ImportError:
        return None
    return dedup.dedup_key, catalogue


class Preparer:
    """Stamps and serializes events for one emitter (stateless apart from its options)."""

    def __init__(self, options: EmitterOptions) -> None:
        self._producer = options.producer()
        self._producer_json = (
            b'"producer":' + json.dumps(self._producer, separators=(",", ":")).encode()
            if self._producer is not None
            else None
        )
        self._limit = options.max_event_bytes
        self._strict = options.strict
        self._dedup = _dedup_functions()
        self._dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode

    def payload(self, event: Any, tracked_at: float) -> dict[str, Any]:
        """The stamped event as a new dict (the caller's object is never mutated)."""
        if isinstance(event, BaseModel):
            payload: dict[str, Any] = event.model_dump(
                mode="json", by_alias=True, exclude_none=True
            )
        elif isinstance(event, Mapping):
            payload = dict(event)
        else:
            raise InvalidEventError(
                f"an event is a generated model or a mapping, not {type(event).__name__}"
            )
        if not isinstance(payload.get("event_name"), str):
            raise InvalidEventError("the event has no event_name")
        if "event_id" not in payload:
            payload["event_id"] = str(uuid.uuid4())
        elif not isinstance(payload["event_id"], str):
            raise InvalidEventError("event_id must be a string")
        if "occurred_at" not in payload:
            payload["occurred_at"] = format_ms(tracked_at)
        payload.pop("sent_at", None)
        stampable = _stampable(payload)
        if "producer" not in payload and self._producer is not None and "producer" in stampable:
            payload["producer"] = self._producer
        if "dedup_key" not in payload and self._dedup is not None and "dedup_key" in stampable:
            try:
                key = self._dedup[0](payload)
            except Exception as exc:  # an event that cannot be upcast still gets sent
                if self._strict:
                    raise InvalidEventError(f"cannot compute the dedup key: {exc}") from exc
                key = None
            if key is not None:
                payload["dedup_key"] = key
        return payload

    def prepare(self, event: Any, tracked_at: float) -> PreparedEvent:
        """Stamp, (in strict mode) validate, serialize and size-check one event.

        Raises ``InvalidEventError`` / ``EventTooLargeError``; callers in production mode turn
        them into ``on_error`` reports.
        """
        if isinstance(event, BaseModel):
            fast = self._prepare_model(event)
            if fast is not None:
                return self._checked(fast)
        payload = self.payload(event, tracked_at)
        if self._strict and not isinstance(event, BaseModel):
            self._validate(payload)
        try:
            body = self._dumps(payload).encode()
        except (TypeError, ValueError) as exc:
            error = InvalidEventError(f"not JSON-serializable: {exc}")
            error.reason = Reason.SERIALIZATION_ERROR
            raise error from exc
        return self._checked(PreparedEvent(payload["event_id"], body, event))

    def _checked(self, prepared: PreparedEvent) -> PreparedEvent:
        size = len(prepared.body) + SENT_AT_BYTES
        if size > self._limit:
            raise EventTooLargeError(size, self._limit)
        return prepared

    def _prepare_model(self, event: BaseModel) -> PreparedEvent | None:
        """Generated models at their event's newest version: serialize in pydantic-core and
        splice the stamps into the bytes, which is several times cheaper than building a dict
        and encoding it with ``json`` (this is the sender's hot path). None: take the general
        path."""
        fields = _fields(type(event))
        event_id = _attribute(event, fields, "event_id")
        name = _attribute(event, fields, "event_name")
        if not isinstance(event_id, str) or not isinstance(name, str):
            return None
        if _attribute(event, fields, "occurred_at") is None:
            return None
        stamps: list[bytes] = []
        producer_absent = "producer" in fields and _attribute(event, fields, "producer") is None
        if producer_absent and self._producer_json is not None:
            stamps.append(self._producer_json)
        if (
            self._dedup is not None
            and "dedup_key" in fields
            and _attribute(event, fields, "dedup_key") is None
        ):
            catalogue = self._dedup[1]
            if _attribute(event, fields, "schema") != f"{name}/{catalogue.LATEST.get(name)}":
                return None  # older version: the dedup key needs upcasting
            pointers = catalogue.DEDUP_KEYS.get(name, ())
            key = dedup_key_from_values(
                name, [(pointer, _model_pointer(event, pointer)) for pointer in pointers]
            )
            if key is not None:
                stamps.append(b'"dedup_key":"' + key.encode() + b'"')
        exclude = {fields["sent_at"]} if "sent_at" in fields else None
        body = event.model_dump_json(by_alias=True, exclude_none=True, exclude=exclude).encode()
        if stamps:
            body = b"{" + b",".join(stamps) + (b"," + body[1:] if len(body) > 2 else b"}")
        return PreparedEvent(event_id, body, event)

    def _validate(self, payload: dict[str, Any]) -> None:
        """Strict mode: validate a plain mapping with the generated model of its exact version."""
        if self._dedup is None:
            return  # no generated catalogue: only the envelope checks in ``payload`` apply
        catalogue = self._dedup[1]
        name = payload["event_name"]
        schema = payload.get("schema")
        if name not in catalogue.MODELS:
            raise InvalidEventError(f"unknown event {name!r}")
        if not isinstance(schema, str) or "/" not in schema:
            raise InvalidEventError('the event has no schema "<event>/<version>"')
        version = schema.split("/", 1)[1]
        target = catalogue.MODELS[name].get(version)
        if target is None:
            raise InvalidEventError(f"unknown version {schema!r}")
        module_name, _, class_name = target.partition(":")
        model = getattr(importlib.import_module(module_name), class_name)
        candidate = dict(payload)
        candidate.setdefault("sent_at", format_ms(0))
        try:
            model.model_validate(candidate)
        except ValidationError as exc:
            # Field locations only: input values can be personal data.
            where = "; ".join(
                "/".join(str(p) for p in err["loc"]) + ": " + err["type"] for err in exc.errors()
            )
            raise InvalidEventError(f"{schema} is invalid: {where}") from None


_FIELD_MAPS: dict[type[BaseModel], dict[str, str]] = {}


def _fields(cls: type[BaseModel]) -> dict[str, str]:
    """JSON name (alias) -> attribute name of a model class, cached."""
    mapping = _FIELD_MAPS.get(cls)
    if mapping is None:
        mapping = {(f.alias or name): name for name, f in cls.model_fields.items()}
        _FIELD_MAPS[cls] = mapping
    return mapping


def _attribute(model: BaseModel, fields: dict[str, str], json_name: str) -> Any:
    attr = fields.get(json_name)
    return None if attr is None else getattr(model, attr, None)


def _model_pointer(model: BaseModel, pointer: str) -> Any:
    """The JSON value at ``pointer`` of ``model``'s serialization, or None when absent."""
    node: Any = model
    for raw in pointer[1:].split("/"):
        token = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(node, BaseModel):
            node = _attribute(node, _fields(type(node)), token)
        elif isinstance(node, Mapping):
            node = node.get(token)
        elif isinstance(node, list) and token.isdigit() and int(token) < len(node):
            node = node[int(token)]
        else:
            return None
        if node is None:
            return None
    if isinstance(node, BaseModel):
        return node.model_dump(mode="json", by_alias=True, exclude_none=True)
    return node


def describe(exc: BaseException) -> tuple[str, str]:
    """(reason, message) for an exception raised while preparing an event."""
    if isinstance(exc, RefractError):
        return exc.reason, str(exc)
    return Reason.SERIALIZATION_ERROR, type(exc).__name__


def _stampable(payload: Mapping[str, Any]) -> tuple[str, ...]:
    """The top-level properties of the contract version a dict event names in `schema`.

    Closed contracts reject unknown fields, so the emitter stamps `producer` and `dedup_key`
    only into versions that declare them (legacy page_view 1.x has neither). An event naming
    no known version gets every stamp: the gateway reports what is wrong with it.
    """
    from refract_sdk._catalogue import FIELDS

    event, _, version = str(payload.get("schema", "")).partition("/")
    known = FIELDS.get(event, {}).get(version)
    return known if known is not None else ("producer", "dedup_key")
