"""refract-sdk: typed emitters for Refract event contracts.

``Emitter`` (background thread, or ``sync=True``) and ``AsyncEmitter`` (asyncio) deliver
generated event models (``refract_sdk.events``) or contract-shaped dicts to the Refract gateway;
see sdk/README.md for options and delivery guarantees.
"""

from refract_sdk.async_emitter import AsyncEmitter
from refract_sdk.dedup import DEDUP_NAMESPACE, canonical_json, dedup_key, dedup_key_for
from refract_sdk.delivery import Stats
from refract_sdk.emitter import Emitter
from refract_sdk.errors import (
    EmitterClosedError,
    EventTooLargeError,
    InvalidEventError,
    Reason,
    RefractError,
)
from refract_sdk.options import SDK_NAME, SDK_VERSION, EmitterOptions
from refract_sdk.upcasting import UpcastError, upcast

__all__ = [
    "DEDUP_NAMESPACE",
    "SDK_NAME",
    "SDK_VERSION",
    "AsyncEmitter",
    "Emitter",
    "EmitterClosedError",
    "EmitterOptions",
    "EventTooLargeError",
    "InvalidEventError",
    "Reason",
    "RefractError",
    "Stats",
    "UpcastError",
    "canonical_json",
    "dedup_key",
    "dedup_key_for",
    "upcast",
]
