"""Bodies of the Confluent-compatible registry API, as typed models for /openapi.json.

The shapes follow Confluent Schema Registry (its clients parse them); Refract's extensions
(`semver`, `lens`, `changes`, `compared_with`) are extra fields those clients ignore. Models
allow extra fields because error bodies and versions may carry Refract extensions.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

# The values registry_service.registry.service accepts (LEVELS, MODES; a test keeps them equal).
Level = Literal[
    "BACKWARD",
    "BACKWARD_TRANSITIVE",
    "FORWARD",
    "FORWARD_TRANSITIVE",
    "FULL",
    "FULL_TRANSITIVE",
    "NONE",
]
ModeName = Literal["READWRITE", "READONLY", "IMPORT"]


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class ConfluentError(_Open):
    """Every registry refusal: Confluent's error code (HTTP status = its first three digits)."""

    error_code: int = Field(description="Confluent error code, e.g. 40401, 42201, 40101")
    message: str


class SchemaReference(_Open):
    """Confluent's reference to a registered subject/version (named in `references`)."""

    name: str
    subject: str
    version: int


class SchemaRequest(_Open):
    """Body of registration, lookup and compatibility checks (Confluent's RegisterSchemaRequest)."""

    schema_: str | dict[str, Any] | bool = Field(
        alias="schema",
        description="The JSON Schema document, as a JSON string (Confluent) or as the JSON value",
    )
    schemaType: str | None = Field(default="JSON", description="Only JSON is supported")
    references: list[SchemaReference] | None = None
    id: int | None = Field(default=None, description="IMPORT mode only")
    version: int | None = Field(default=None, description="IMPORT mode only")
    lens: dict[str, Any] | None = Field(
        default=None, description="Refract: the lens into a new major version"
    )


class RegisteredId(_Open):
    """Answer of `POST /subjects/{subject}/versions`: the global schema id."""

    id: int


class SubjectVersion(_Open):
    """One registered version of a subject (Confluent's Schema)."""

    subject: str
    version: int
    id: int
    schemaType: str = "JSON"
    schema_: str = Field(alias="schema", description="The schema document as a JSON string")
    semver: str | None = Field(default=None, description="Refract: the contract's SemVer")
    lens: dict[str, Any] | None = None
    deleted: bool | None = None


class SchemaById(_Open):
    """Answer of `GET /schemas/ids/{id}`."""

    schemaType: str = "JSON"
    schema_: str = Field(alias="schema", description="The schema document as a JSON string")


class SubjectVersionRef(_Open):
    """One (subject, version) that uses a schema id."""

    subject: str
    version: int


class SchemaChange(_Open):
    """One difference found by a compatibility check (Refract extension)."""

    type: str
    old_path: str
    new_path: str
    compatible: bool
    message: str
    direction: str
    counterexample: Any = None
    writer: str | None = None
    reader: str | None = None


class LensCheck(_Open):
    """How a lens into a new major was verified."""

    from_: str = Field(alias="from")
    instances_checked: int


class CompatibilityResult(_Open):
    """Answer of the compatibility endpoints (Confluent's `is_compatible` and `messages`)."""

    is_compatible: bool
    messages: list[str] | None = Field(default=None, description="Only with ?verbose=true")
    compatibility: Level
    compared_with: list[int]
    changes: list[SchemaChange]
    lens: LensCheck | None = None


class CompatibilityLevel(_Open):
    """A configured compatibility level, as read."""

    compatibilityLevel: Level


class CompatibilityUpdate(_Open):
    """Body and answer of `PUT /config`."""

    compatibility: Level = Field(description="Case-insensitive on input")


class Mode(_Open):
    """Body and answer of the mode endpoints."""

    mode: ModeName = Field(description="Case-insensitive on input")


# Used in request bodies (openapi_extra): added to the document's components by
# registry_service.openapi.spec.
REQUEST_MODELS: tuple[type[BaseModel], ...] = (SchemaRequest, CompatibilityUpdate, Mode)
