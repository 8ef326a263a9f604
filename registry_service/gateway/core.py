"""The processing core: canonical events in, stream records and per-event verdicts out.

For every event, in request order: size check, contract and version from its ``schema``
field, validation with the compiled validator of that exact version, upcast to the newest
version, dedup key (computed, or the producer's verified), referral classification, PII rules,
then the events-stream record with ``received_at`` and the gateway metadata. Any step that
fails rejects that event alone, with a reason from the taxonomy (errors.py), and its original
payload becomes a dead-letter record; the other events of the batch go on.

``process`` is pure CPU (no I/O but a registry lookup on a cache miss) and ``commit`` does the
two ``put()`` calls, so the HTTP route can run the writes in a worker thread while the event
loop stays free. ``ingest`` is both, for the adapters. Nothing is acknowledged before
``commit`` returned: that is the at-least-once guarantee.
"""

from __future__ import annotations

import base64
import contextlib
import socket
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol, cast

import orjson
from refract_sdk import _catalogue
from refract_sdk.errors import UpcastError
from refract_sdk.upcasting import upcast

from pipeline.streams.base import (
    MAX_PARTITION_KEY_CHARS,
    MAX_RECORD_BYTES,
    Record,
    SinkError,
    StreamSink,
    partition_key_for,
)
from registry_service.gateway import errors
from registry_service.gateway.dedup import DedupPlan
from registry_service.gateway.depth import dumps_any_depth, exceeds_depth, schema_depth_bound
from registry_service.gateway.errors import SinkUnavailable
from registry_service.gateway.metrics import BatchStats, GatewayMetrics
from registry_service.gateway.pii import PiiRules
from registry_service.gateway.validators import Compiled, ValidatorCache
from registry_service.model import Outcome, Producer, json_kind

GATEWAY_VERSION = "refract-gateway/0.1.0"
DEAD_LETTER_ALLOWANCE = 4096
"""Room left under the stream's record limit for a dead letter's key: a payload that would
make the record bigger is kept as base64 of its first dead_letter_payload_cap bytes."""


class ClassificationLike(Protocol):
    channel: str
    ai_platform: str | None
    method: str
    conflict: bool


class ClassifierLike(Protocol):
    """registry_service.referral.Classifier, as far as the gateway uses it."""

    def classify(
        self,
        *,
        page_url: str | None = None,
        referrer: str | None = None,
        utm: Mapping[str, str] | None = None,
        app_referrer: str | None = None,
        click_ids: Mapping[str, str] | None = None,
    ) -> ClassificationLike: ...


def utc_now_ms() -> str:
    """Now as ``YYYY-MM-DDTHH:MM:SS.mmmZ`` (the contracts' timestamp spelling)."""
    now = datetime.now(UTC)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"


def producer_json(producer: Producer | None) -> dict[str, str] | None:
    if producer is None:
        return None
    return {"key_id": producer.key_id, "source": producer.source, "name": producer.name}


@dataclass
class Batch:
    """The result of ``process``: verdicts in request order and the records to write."""

    outcomes: list[Outcome]
    records: list[Record]
    dead_letters: list[Record]
    stats: BatchStats
    origin: str
    producer: Producer | None
    received_at: str
    accepted_events: list[dict[str, Any]] = field(default_factory=list)


class Rejected(tuple[str, str]):
    """(reason, message) of a rejected event; a tuple subclass so the hot path builds it
    cheaply and tells it from an accepted (event, upcast_from) pair by type."""

    __slots__ = ()


def _reject(reason: str, message: str) -> Rejected:
    return Rejected((reason, message))


_UTM_FIELDS = ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")

_MAX_PLANS = 4096
"""Per-version plans kept at most (one per contract version in use; a flood of bogus versions
is answered from the validator cache's negative entries, never planned)."""


@dataclass(frozen=True, slots=True)
class _Plan:
    """Everything about one ``schema`` value that does not depend on the event: looked up once
    per contract version (while its compiled validator is current), not per event."""

    compiled: Compiled
    name: str
    latest: str | None  # the newest version's ``schema`` value known to the upcasters
    upcast: bool  # an older version the SDK's upcasters translate (else passed unchanged)
    upcast_key: tuple[str, str, str] | None  # the upcasts metric's labels
    dedup: DedupPlan | None
    walk_depth: bool  # the schema does not bound the depth within the limit: walk each event


class Gateway:
    """Validates, upcasts, classifies, keys, scrubs and writes canonical events."""

    def __init__(
        self,
        validators: ValidatorCache,
        events_sink: StreamSink,
        dead_letter_sink: StreamSink,
        classifier: ClassifierLike,
        pii: PiiRules,
        *,
        max_event_bytes: int = 64 * 1024,
        max_event_depth: int = 32,
        dead_letter_payload_cap: int = 64 * 1024,
        metrics: GatewayMetrics | None = None,
        host: str | None = None,
        clock: Callable[[], str] = utc_now_ms,
    ) -> None:
        self.validators = validators
        self.events_sink = events_sink
        self.dead_letter_sink = dead_letter_sink
        self.classifier = classifier
        self.pii = pii
        self.max_event_bytes = max_event_bytes
        self.max_event_depth = max_event_depth
        self.dead_letter_payload_cap = dead_letter_payload_cap
        self.metrics = metrics or GatewayMetrics()
        self.host = host or socket.gethostname()
        self.clock = clock
        self._latest = {name: f"{name}/{v}" for name, v in _catalogue.LATEST.items()}
        self._has_referral: dict[str, bool] = {}
        self._plans: dict[str, _Plan] = {}
        self._plans_epoch = validators.epoch
        self._dedup_plans = {
            name: DedupPlan(name, pointers) for name, pointers in _catalogue.DEDUP_KEYS.items()
        }

    # -- the adapters' interface ----------------------------------------------------------------

    def ingest(self, events: Sequence[Any], producer: Producer, origin: str) -> list[Outcome]:
        """Process and write ``events``; returns once the stream accepted every record.

        Raises SinkUnavailable (503, the client retries) when the stream refused them.
        """
        batch = self.process(events, producer, origin)
        self.commit(batch)
        return batch.outcomes

    def dead_letter(
        self,
        payload: Any,
        reason: str,
        message: str,
        producer: Producer | None,
        origin: str,
    ) -> None:
        """Record a request or item that never became an event (bad body, bad key, unmapped
        webhook); ``payload`` is its JSON value, or bytes when it was not JSON."""
        record = self.dead_letter_record(payload, reason, message, producer, origin, self.clock())
        self.metrics.reject(reason, producer.name if producer else "unauthenticated")
        self._put(self.dead_letter_sink, [record], "dead_letters")

    # -- processing -----------------------------------------------------------------------------

    def process(
        self,
        events: Sequence[Any],
        producer: Producer | None,
        origin: str,
        *,
        check_sizes: bool = True,
    ) -> Batch:
        """Verdicts and records for ``events``; nothing is written yet.

        ``check_sizes=False`` skips the per-event byte limit (one serialization per event)
        when the caller knows the whole body is below it.
        """
        self.validators.maybe_refresh()
        if self._plans_epoch != self.validators.epoch:
            self._plans = {}
            self._plans_epoch = self.validators.epoch
        received_at = self.clock()
        stats = BatchStats()
        batch = Batch([], [], [], stats, origin, producer, received_at)
        pname = producer.name if producer else "unauthenticated"
        # The record is {"event": ..., "received_at": ..., "gateway": {...}}: everything but the
        # event is the same for the whole batch (upcast_from aside), so it is serialized once
        # and the record is joined from bytes (orjson writes no whitespace, so this is exactly
        # orjson.dumps of the dict).
        gateway_tail: dict[str | None, bytes] = {}
        received_json = orjson.dumps(received_at)
        producer_dict = producer_json(producer)
        outcomes = batch.outcomes
        records = batch.records
        accepted = 0
        for index, event in enumerate(events):
            try:
                result = self._one(event, check_sizes, stats)
            except Exception as exc:  # a bug must cost one event, never the batch or the process
                if exceeds_depth(event, self.max_event_depth):  # (walked only on this path)
                    result = self._too_deep()
                else:
                    result = _reject(errors.INTERNAL_ERROR, f"internal error: {type(exc).__name__}")
            event_id = event.get("event_id") if isinstance(event, dict) else None
            if not isinstance(event_id, str):
                event_id = None
            if type(result) is Rejected:
                reason, message = result
                outcomes.append(Outcome(index, event_id, "rejected", reason, message))
                stats.rejected[(reason, pname)] += 1
                batch.dead_letters.append(
                    self.dead_letter_record(event, reason, message, producer, origin, received_at)
                )
                continue
            # (a string: the subscripted type would be built at run time for every event)
            canonical, upcast_from = cast("tuple[dict[str, Any], str | None]", result)
            tail = gateway_tail.get(upcast_from)
            if tail is None:
                gateway = {
                    "host": self.host,
                    "version": GATEWAY_VERSION,
                    "origin": origin,
                    "producer": producer_dict,
                    "upcast_from": upcast_from,
                }
                tail = b',"received_at":' + received_json + b',"gateway":' + orjson.dumps(gateway)
                tail += b"}"
                gateway_tail[upcast_from] = tail
            data = b'{"event":' + orjson.dumps(canonical) + tail
            records.append(Record(_partition_key(canonical), data))
            outcomes.append(Outcome(index, event_id, "accepted"))
            accepted += 1
        if accepted:
            stats.accepted[(pname, origin)] += accepted
        return batch

    def _one(
        self, event: Any, check_sizes: bool, stats: BatchStats
    ) -> Rejected | tuple[dict[str, Any], str | None]:
        """(reason, message) for a rejection, else (canonical event, upcast_from)."""
        if not isinstance(event, dict):
            return _reject(
                errors.SCHEMA_VIOLATION, f"/: an event is a JSON object, found {json_kind(event)}"
            )
        ref = event.get("schema")
        plan = self._plans.get(ref) if type(ref) is str else None
        if plan is None:
            found = self._plan(ref)
            if type(found) is Rejected:
                return found
            plan = cast(_Plan, found)
        # Depth before anything recursive (serialization, validation, upcast): walked when the
        # contract's schema does not itself bound it below the limit (docs/gateway.md).
        if plan.walk_depth and exceeds_depth(event, self.max_event_depth):
            return self._too_deep()
        if check_sizes:
            try:
                size = len(orjson.dumps(event))
            except TypeError:  # orjson stops at 255 levels: deeper than any limit allows
                return self._too_deep()
            if size > self.max_event_bytes:
                return _reject(
                    errors.EVENT_TOO_LARGE,
                    f"/: the event is {size} bytes, over the {self.max_event_bytes}-byte limit",
                )
        problem = plan.compiled.first_error(event)
        if problem is not None:
            return _reject(errors.SCHEMA_VIOLATION, problem)
        upcast_from: str | None = None
        if plan.upcast:
            try:
                canonical = upcast(event)
            except UpcastError as exc:
                return _reject(errors.UPCAST_FAILED, f"{exc.field or '/'}: {exc.reason}")
            if plan.latest is None or canonical.get("schema") != plan.latest:
                return _reject(errors.UPCAST_FAILED, f"/schema: no upcast path from {ref!r}")
            upcast_from = ref
            stats.upcasts[plan.upcast_key] += 1  # type: ignore[index]
        else:
            canonical = event
        dedup = plan.dedup
        computed = dedup.key(canonical) if dedup is not None else None
        sent = canonical.get("dedup_key")
        if sent is not None and sent != computed:
            pointers = dedup.pointers if dedup is not None else ()
            expected = computed if computed is not None else "none (a key field is absent)"
            return _reject(
                errors.DEDUP_KEY_MISMATCH,
                f"/dedup_key: {sent!r} does not match the key computed over "
                f"{', '.join(pointers)}: {expected}",
            )
        if canonical is event:
            canonical = dict(event)  # the producer's objects stay untouched (copy-on-write)
        if computed is not None and sent is None:
            canonical["dedup_key"] = computed
        referral = self._has_referral.get(plan.name)
        if referral is None:
            referral = self._referral(plan.name)
        if referral:
            self._classify(canonical, stats)
        return self.pii.apply(canonical, owned=True), upcast_from

    def _too_deep(self) -> Rejected:
        return _reject(
            errors.TOO_DEEP,
            f"/: the event nests deeper than {self.max_event_depth} levels "
            "(REFRACT_MAX_EVENT_DEPTH)",
        )

    def _plan(self, ref: Any) -> _Plan | Rejected:
        """What ``_one`` needs to know about a ``schema`` value, kept while it is compiled."""
        if not isinstance(ref, str):
            if ref is None:
                return _reject(
                    errors.SCHEMA_VIOLATION, "/schema: missing (expected '<event>/<version>')"
                )
            return _reject(
                errors.SCHEMA_VIOLATION, f"/schema: expected a string, found {json_kind(ref)}"
            )
        name, _, version = ref.partition("/")
        if not name or not version:
            return _reject(
                errors.SCHEMA_VIOLATION, f"/schema: {ref[:100]!r} is not '<event>/<version>'"
            )
        compiled = self.validators.get(name, version)
        if not isinstance(compiled, Compiled):
            return _reject(compiled.reason, compiled.message)
        latest = self._latest.get(name)
        # A version of the newest major registered after this gateway was built passes
        # unchanged: minors are backward compatible (docs/gateway.md).
        needs_upcast = ref != latest and not (
            latest is not None and self._unknown_minor(name, version, latest)
        )
        plan = _Plan(
            compiled,
            name,
            latest,
            needs_upcast,
            (name, version, latest.partition("/")[2]) if latest is not None else None,
            self._dedup_plans.get(name),
            self._walks_depth(compiled.schema),
        )
        if type(ref) is str and len(self._plans) < _MAX_PLANS:
            self._plans[ref] = plan
        return plan

    def _walks_depth(self, schema: dict[str, Any]) -> bool:
        """Whether events of this schema need the depth walk: unless the schema (closed
        objects, typed arrays all the way down) bounds their depth within the limit."""
        try:
            bound = schema_depth_bound(schema)
        except RecursionError:  # a schema nested absurdly deep: walk every event
            return True
        return bound is None or bound > self.max_event_depth

    @staticmethod
    def _unknown_minor(name: str, version: str, latest: str) -> bool:
        """Whether ``version`` is in the newest major but unknown to the compiled upcasters."""
        if version in _catalogue.VERSIONS.get(name, ()):
            return False
        major = latest.partition("/")[2].partition(".")[0]
        return version.partition(".")[0] == major

    def _referral(self, name: str) -> bool:
        """Whether the newest version of ``name`` carries a referral object to classify."""
        known = self._has_referral.get(name)
        if known is None:
            version = _catalogue.LATEST.get(name)
            compiled = self.validators.get(name, version) if version else None
            if not isinstance(compiled, Compiled):
                return False  # not cached: asked again next time
            props = compiled.schema.get("properties")
            known = isinstance(props, dict) and "referral" in props
            self._has_referral[name] = known
        return known

    def _classify(self, event: dict[str, Any], stats: BatchStats) -> None:
        referral = event.get("referral")
        referral = dict(referral) if isinstance(referral, dict) else {}
        get = referral.get
        utm: dict[str, str] | None = None
        for name in _UTM_FIELDS:
            value = get(name)
            if isinstance(value, str):
                if utm is None:
                    utm = {}
                utm[name] = value
        page_url = get("landing_url")
        if page_url is None:
            page = event.get("page")
            if isinstance(page, dict):
                page_url = page.get("url")
            if page_url is None:
                page_url = event.get("deep_link_url")
        page_url = page_url if isinstance(page_url, str) else None
        referrer = _str(get("referrer_url"))
        app_referrer = _str(get("app_referrer"))
        click_ids = get("click_ids") or None
        # The classifier caches its verdicts by the few signals that decide them (not by the
        # landing URL, which is nearly always new): registry_service/referral/classifier.py.
        verdict = self.classifier.classify(
            page_url=page_url,
            referrer=referrer,
            utm=utm,
            app_referrer=app_referrer,
            click_ids=click_ids,
        )
        referral["classification"] = {
            "channel": verdict.channel,
            "ai_platform": verdict.ai_platform,
            "method": verdict.method,
            "conflict": verdict.conflict,
        }
        event["referral"] = referral
        stats.classifications[(verdict.channel, verdict.ai_platform or "none")] += 1

    # -- records --------------------------------------------------------------------------------

    def dead_letter_record(
        self,
        payload: Any,
        reason: str,
        message: str,
        producer: Producer | None,
        origin: str,
        received_at: str,
    ) -> Record:
        """A dead-letter record: the payload as JSON when it is JSON, else capped base64."""
        body: dict[str, Any] = {
            "reason": reason,
            "message": message,
            "received_at": received_at,
            "origin": origin,
            "producer": producer_json(producer),
        }
        if isinstance(payload, bytes | bytearray | memoryview):
            self._base64_payload(body, bytes(payload))
            data = orjson.dumps(body)
        else:
            body["payload"] = payload
            try:
                data = orjson.dumps(body)
            except TypeError:
                # Deeper than orjson writes (255 levels; a parsed body can hold 1024): the
                # payload re-serialized as JSON without recursion, kept as base64 and flagged.
                # Never a Python repr: a dead letter must be replayable.
                del body["payload"]
                self._base64_payload(body, dumps_any_depth(payload))
                body["payload_reserialized"] = True
                data = orjson.dumps(body)
            else:
                if len(data) > MAX_RECORD_BYTES - DEAD_LETTER_ALLOWANCE:
                    del body["payload"]
                    self._base64_payload(body, orjson.dumps(payload))
                    data = orjson.dumps(body)
        key = producer.key_id if producer is not None else "unauthenticated"
        if isinstance(payload, dict) and isinstance(payload.get("event_id"), str):
            key = payload["event_id"][:256] or key
        return Record(key, data)

    def _base64_payload(self, body: dict[str, Any], raw: bytes) -> None:
        """``payload_base64`` of at most dead_letter_payload_cap bytes of ``raw``."""
        body["payload_bytes"] = len(raw)
        if len(raw) > self.dead_letter_payload_cap:
            raw = raw[: self.dead_letter_payload_cap]
            body["payload_truncated"] = True
        body["payload_base64"] = base64.b64encode(raw).decode("ascii")

    # -- writing --------------------------------------------------------------------------------

    def commit(self, batch: Batch) -> None:
        """Write the batch: accepted records, then dead letters, one put() each.

        When the events stream refuses, the accepted events are offered to the dead-letter
        stream with reason sink_unavailable (so they survive a client that gives up) and
        SinkUnavailable is raised: the request is answered 503 and retried by the client.
        """
        if batch.records:
            try:
                self._put(self.events_sink, batch.records, "events")
            except SinkUnavailable:
                self._rescue(batch)
                raise
        if batch.dead_letters:
            self._put(self.dead_letter_sink, batch.dead_letters, "dead_letters")
        self.metrics.observe_batch(batch.stats, batch.origin, len(batch.outcomes))

    def put_dead_letters(self, records: list[Record]) -> None:
        """Write dead-letter records (SinkUnavailable when the stream refuses them)."""
        if records:
            self._put(self.dead_letter_sink, records, "dead_letters")

    def _rescue(self, batch: Batch) -> None:
        rescued = []
        for record in batch.records:
            try:
                event = orjson.loads(record.data)["event"]
            except (orjson.JSONDecodeError, KeyError, TypeError):
                continue
            rescued.append(
                self.dead_letter_record(
                    event,
                    errors.SINK_UNAVAILABLE,
                    "the events stream refused the batch; the request was answered 503",
                    batch.producer,
                    batch.origin,
                    batch.received_at,
                )
            )
        # When both streams are down the 503 alone makes the client keep the events.
        with contextlib.suppress(SinkUnavailable):
            self._put(self.dead_letter_sink, rescued + batch.dead_letters, "dead_letters")

    def _put(self, sink: StreamSink, records: list[Record], stream: str) -> None:
        start = time.perf_counter()
        try:
            sink.put(records)
        except SinkError as exc:
            self.metrics.sink_failures.labels(stream).inc()
            raise SinkUnavailable(f"the {stream} stream is unavailable: {exc}") from None
        except Exception as exc:  # a sink bug is an outage too, never an acknowledged write
            self.metrics.sink_failures.labels(stream).inc()
            raise SinkUnavailable(
                f"the {stream} stream is unavailable: {type(exc).__name__}"
            ) from None
        finally:
            self.metrics.sink_latency.labels(stream).observe(time.perf_counter() - start)


def _partition_key(event: dict[str, Any]) -> str:
    """``partition_key_for(event)`` with its common case inline: a plain dict ``user`` with a
    short string id (``isinstance(user, Mapping)`` is an ABC check, slow per event)."""
    user = event.get("user")
    if type(user) is dict:
        for field_name in ("user_id", "anonymous_id", "device_id"):
            value = user.get(field_name)
            if type(value) is str and 0 < len(value) <= MAX_PARTITION_KEY_CHARS:
                return value
            if value is not None and not (isinstance(value, str) and not value):
                break  # anything unusual: the shared function decides
    return partition_key_for(event)


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None
