"""The dedup key: the documented vectors, an independent UUIDv5, number spelling, and the
catalogue-driven key across versions."""

from __future__ import annotations

import copy
import hashlib
import json
import re
import uuid
from pathlib import Path
from typing import Any

import pytest
from refract_sdk import DEDUP_NAMESPACE, canonical_json, dedup_key, dedup_key_for
from refract_sdk.events import PageView, Signup

from tests.sdk.conftest import page_view

DOC = Path(__file__).resolve().parents[2] / "docs" / "dedup-key.md"


def documented_vectors() -> list[dict[str, Any]]:
    text = DOC.read_text("utf-8").split("## Test vectors", 1)[1]
    return [json.loads(block) for block in re.findall(r"```json\n(.*?)\n```", text, re.S)]


def test_the_document_has_at_least_five_vectors() -> None:
    assert len(documented_vectors()) >= 5


@pytest.mark.parametrize("vector", documented_vectors(), ids=lambda v: v["event_name"])
def test_documented_vectors(vector: dict[str, Any]) -> None:
    key = dedup_key_for(vector["event_name"], vector["instance"], vector["pointers"])
    assert key == vector["dedup_key"]
    if vector["name"] is not None:
        pairs = [[p, _resolve(vector["instance"], p)] for p in vector["pointers"]]
        assert vector["event_name"] + canonical_json(pairs) == vector["name"]
        assert _uuid5_from_scratch(vector["name"]) == key


def _resolve(instance: Any, pointer: str) -> Any:
    for token in pointer[1:].split("/"):
        token = token.replace("~1", "/").replace("~0", "~")
        instance = instance[int(token)] if isinstance(instance, list) else instance[token]
    return instance


def _uuid5_from_scratch(name: str) -> str:
    """RFC 9562 UUIDv5 without the uuid module, as the document describes it."""
    digest = bytearray(hashlib.sha1(DEDUP_NAMESPACE.bytes + name.encode("utf-8")).digest()[:16])
    digest[6] = (digest[6] & 0x0F) | 0x50
    digest[8] = (digest[8] & 0x3F) | 0x80
    h = digest.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def test_namespace_is_derived_as_documented() -> None:
    assert (
        uuid.uuid5(uuid.NAMESPACE_URL, "https://refract.promptflow.io/ns/dedup-key")
        == DEDUP_NAMESPACE
    )


@pytest.mark.parametrize(
    ("value", "spelled"),
    [
        (1.0, "1"),
        (-0.0, "0"),
        (0.1, "0.1"),
        (100.0, "100"),
        (1e20, "100000000000000000000"),
        (1e21, "1e+21"),
        (0.000001, "0.000001"),
        (1e-7, "1e-7"),
        (1.5e-7, "1.5e-7"),
        (123.456, "123.456"),
        (5e-324, "5e-324"),
        (1.7976931348623157e308, "1.7976931348623157e+308"),
        (12345678901234567890.0, "12345678901234567000"),
        (2**64, "18446744073709551616"),
        (True, "true"),
    ],
)
def test_numbers_are_spelled_like_ecmascript(value: Any, spelled: str) -> None:
    assert canonical_json(value) == spelled


def test_nan_has_no_encoding() -> None:
    with pytest.raises(ValueError):
        canonical_json(float("nan"))


def test_the_key_ignores_everything_but_the_pointed_values() -> None:
    a = page_view(title="A")
    b = page_view(title="B")
    b["page"]["view_id"] = a["page"]["view_id"]
    assert dedup_key(a) == dedup_key(b) is not None
    assert dedup_key(a) != dedup_key(page_view())


def test_client_and_server_emitters_agree() -> None:
    """The browser sends a dict, the server builds the typed model with the forwarded view id."""
    browser = page_view()
    server = PageView(
        user={"user_id": "usr_1"},
        device={"type": "server"},
        page={
            "view_id": browser["page"]["view_id"],
            "url": "https://app.promptflow.io/pricing",
            "path": "/pricing",
        },
    )
    assert dedup_key(server) == dedup_key(browser)


def test_older_versions_are_upcast_first() -> None:
    newest = Signup.example().model_dump(mode="json", by_alias=True, exclude_none=True)
    older = copy.deepcopy(newest)
    older["schema"] = "signup/1.0.0"
    older.pop("company_size", None)
    assert dedup_key(older) == dedup_key(newest) is not None


def test_page_view_1x_has_no_cross_emitter_key() -> None:
    legacy = {
        "event_id": "0f8e2d6c-4b1a-4e9f-8d7c-6b5a4f3e2d1c",
        "schema": "page_view/1.1.0",
        "event_name": "page_view",
        "occurred_at": "2026-03-14T09:26:53.589Z",
        "sent_at": "2026-03-14T09:26:53.802Z",
        "anonymous_id": "anon",
        "url": "https://app.promptflow.io/",
        "path": "/",
    }
    assert dedup_key(legacy) is None
