"""Unauthenticated requests cost a counter and a log line, and refused bodies one dead letter.

Issue 10: a 1,992-byte gzip body of a million zeros sent without a key took 38 s to answer 401
and wrote a million dead letters. These tests pin the reversed design on every gateway and
adapter route: a missing, unknown or revoked key is refused with 401 before the body is read,
and nothing reaches either stream; an authenticated request that is refused as a whole leaves
exactly one capped dead letter, however many items its body claims. (The 100 ms figure for the
401 lives in benchmarks/unauthenticated_bomb.py: timing is never asserted in unit tests.)
"""

from __future__ import annotations

import base64
import gzip
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.gateway.conftest import HAS_ADAPTERS, Service

ZEROS = 1_000_000


def zeros_body(field: str = "events") -> bytes:
    """``{"<field>":[0,0,...]}`` with a million zeros, gzip'd: about 2 KB on the wire."""
    return gzip.compress(b'{"' + field.encode() + b'":[' + b"0," * (ZEROS - 1) + b"0]}", 9)


BOMB = zeros_body()

# (path, body) for every route family; the body is a gzip bomb of a million items.
ROUTES = [("/v1/events", BOMB)]
if HAS_ADAPTERS:
    ROUTES += [
        ("/v1/track", BOMB),
        ("/v1/identify", BOMB),
        ("/v1/page", BOMB),
        ("/v1/screen", BOMB),
        ("/v1/p", BOMB),
        ("/v1/s", BOMB),
        ("/v1/i", BOMB),
        ("/v1/batch", zeros_body("batch")),
        ("/v1/t", BOMB),
        ("/v1/b", zeros_body("batch")),
        ("/v1/crm/leads", zeros_body("leads")),
        ("/v1/logs", gzip.compress(b"0\n" * ZEROS, 9)),
    ]

BAD_KEYS = {
    "missing": {},
    "unknown-bearer": {"Authorization": "Bearer wk_live_not_a_key"},
    "unknown-basic": {"Authorization": "Basic " + base64.b64encode(b"wk_nope:").decode()},
    "empty-header": {"Authorization": ""},
    "other-scheme": {"Authorization": "Digest x"},
}


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, registry_template: Path) -> Iterator[Service]:
    """One served installation for the module (the requests here never write anything)."""
    service = Service(tmp_path_factory.mktemp("unauth") / "data", registry_template).serve()
    yield service
    service.close()


def counted(service: Service, origin: str) -> float:
    value = service.gateway.metrics.registry.get_sample_value(
        "refract_gateway_unauthorized_requests_total", {"origin": origin}
    )
    return value or 0.0


def origin_of(path: str) -> str:
    if path.startswith("/v1/events"):
        return "sdk"
    if path.startswith("/v1/crm"):
        return "crm"
    if path.startswith("/v1/logs"):
        return "logs"
    return "segment"


@pytest.mark.parametrize("key", list(BAD_KEYS), ids=list(BAD_KEYS))
@pytest.mark.parametrize("path,body", ROUTES, ids=[p for p, _ in ROUTES])
def test_an_unauthenticated_bomb_is_refused_and_writes_nothing(
    served: Service, path: str, body: bytes, key: str
) -> None:
    assert len(BOMB) < 2100  # the request of the issue: about 2 KB on the wire
    before = counted(served, origin_of(path))
    headers = {"Content-Type": "application/json", "Content-Encoding": "gzip", **BAD_KEYS[key]}
    # (Segment without a header: analytics.js puts the key in the body; the bomb has none, so
    # it is refused as unauthenticated after the bounded read, and still writes nothing.)
    response = httpx.post(f"{served.url}{path}", content=body, headers=headers, timeout=30)
    assert response.status_code == 401, response.text
    payload = response.json()
    if origin_of(path) == "segment":
        assert payload["success"] is False and payload["code"] == "unauthorized"
    else:
        assert payload["error"] == "unauthorized"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert served.events() == []
    assert served.dead_letters() == []
    assert counted(served, origin_of(path)) == before + 1


def test_a_body_write_key_that_is_unknown_writes_nothing(served: Service) -> None:
    if not HAS_ADAPTERS:
        pytest.fail("the adapters are part of this build")
    body = b'{"writeKey":"wk_unknown","batch":[' + b"0," * 999 + b"0]}"
    before = counted(served, "segment")
    response = httpx.post(
        f"{served.url}/v1/batch", content=body, headers={"Content-Type": "text/plain"}, timeout=10
    )
    assert response.status_code == 401, response.text
    assert served.dead_letters() == [] and served.events() == []
    assert counted(served, "segment") == before + 1


def test_the_unauthenticated_body_is_not_read(served: Service) -> None:
    """A declared body far beyond every limit, with no key, is answered 401 (not 413): the
    key is checked before Content-Length, let alone the bytes."""
    response = httpx.post(
        f"{served.url}/v1/events",
        content=b"{" * 2_000_000,
        headers={"Content-Type": "application/json"},
        timeout=30,
    )
    assert response.status_code == 401
    assert served.dead_letters() == []


# -- authenticated, refused as a whole: one capped dead letter, never one per item ----------


@pytest.mark.parametrize("path,body", ROUTES, ids=[p for p, _ in ROUTES])
def test_an_authenticated_bomb_is_one_capped_dead_letter(
    service: Service, path: str, body: bytes
) -> None:
    headers = {
        "Content-Type": "application/json",
        "Content-Encoding": "gzip",
        **service.basic_auth(),
    }
    if path == "/v1/events":
        headers.update(service.auth())
    response = httpx.post(f"{service.url}{path}", content=body, headers=headers, timeout=60)
    assert response.status_code < 500, response.text
    assert service.events() == []
    letters = service.dead_letters()
    cap = service.settings.dead_letter_payload_cap
    if origin_of(path) == "segment" and path not in ("/v1/batch", "/v1/b"):
        # one message (an object with a huge 'events' field): it is over the event size limit
        # and rejected alone, as any one event would be; still one record, still capped.
        assert response.status_code == 200 and len(letters) == 1
    else:
        assert response.status_code in (400, 413)
        assert len(letters) == 1, [d["reason"] for d in letters[:5]]
        [letter] = letters
        assert letter["reason"] == "batch_too_large"
        assert letter["payload_truncated"] is True
        assert len(base64.b64decode(letter["payload_base64"])) == cap
        assert letter["payload_bytes"] > cap
        assert letter["producer"]["key_id"] == service.key_id


def test_a_malformed_batch_from_a_producer_is_one_dead_letter(service: Service) -> None:
    body = b'{"events":{"a":[1,2,3]},"batch":[' + b"{}," * 500 + b"{}]}"
    response = httpx.post(
        f"{service.url}/v1/events",
        content=body,
        headers={"Content-Type": "application/json", **service.auth()},
        timeout=10,
    )
    assert response.status_code == 400
    [letter] = service.dead_letters()
    assert letter["reason"] == "malformed_batch"
    assert letter["payload"]["events"] == {"a": [1, 2, 3]}
