"""Registry errors with Confluent Schema Registry's status and error codes.

Clients written for Confluent (serializers, `curl` habits, CI scripts) branch on `error_code`,
so every refusal of the registry is one of these, raised from the service and turned into the
body `{"error_code": ..., "message": ...}` by the router. Refract's own refusals (lens
verification) use codes in the 4229x range, which Confluent leaves unused, and may carry extra
fields (the failing example, the change list) next to the two Confluent ones.
"""

from __future__ import annotations

from typing import Any

# Confluent's codes (HTTP status = first three digits, except 409 and 500 families).
SUBJECT_NOT_FOUND = 40401
VERSION_NOT_FOUND = 40402
SCHEMA_NOT_FOUND = 40403
SUBJECT_SOFT_DELETED = 40404
SUBJECT_NOT_SOFT_DELETED = 40405
VERSION_SOFT_DELETED = 40406
VERSION_NOT_SOFT_DELETED = 40407
SUBJECT_LEVEL_COMPATIBILITY_NOT_CONFIGURED = 40408
SUBJECT_LEVEL_MODE_NOT_CONFIGURED = 40409
UNAUTHORIZED = 40101
FORBIDDEN = 40301
INCOMPATIBLE_SCHEMA = 409
ID_CONFLICT = 42207  # Confluent: "schema id already in use" on import
INVALID_SCHEMA = 42201
INVALID_VERSION = 42202
INVALID_COMPATIBILITY_LEVEL = 42203
INVALID_MODE = 42204
OPERATION_NOT_PERMITTED = 42205
INVALID_SUBJECT = 42208
SCHEMA_TOO_LARGE = 42209
BAD_REQUEST = 40001  # malformed request body (not JSON, wrong field types)
PAYLOAD_TOO_LARGE = 41301  # Refract: body above the registry's limit (HTTP 413)
STORE_ERROR = 50001  # the database failed (Confluent: error in the backend data store)

# Refract extensions: a new major version and its lens.
LENS_REQUIRED = 42290
LENS_INVALID = 42291
LENS_VERIFICATION_FAILED = 42292


class RegistryError(Exception):
    """A refused registry operation: HTTP status, Confluent error code, one-line message.

    `extra` holds additional JSON fields for the error body (Refract extensions such as the
    incompatible changes or a lens's failing example).
    """

    def __init__(self, error_code: int, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.error_code = error_code
        self.message = message
        self.extra = extra

    @property
    def status(self) -> int:
        if self.error_code == INCOMPATIBLE_SCHEMA:
            return 409
        text = str(self.error_code)
        return int(text[:3]) if len(text) == 5 else self.error_code

    def to_json(self) -> dict[str, Any]:
        return {"error_code": self.error_code, "message": self.message, **self.extra}
