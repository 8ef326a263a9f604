"""One self-contained schema per event version: every external `$ref` inlined under `$defs`.

Contracts share their envelope parts through relative `$ref`s into `contracts/common/`. Code
generators and instance generators (datamodel-code-generator, hypothesis-jsonschema) either
cannot follow file references or resolve them against paths that depend on the machine, which
would leak absolute paths into generated code and break byte-identical output. Bundling turns a
version into one document whose `$defs` names depend only on the contracts' relative layout,
so the same contracts always give the same bundle.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from compat.source import SchemaSet, pointer_tokens

_COMMON_PATH = re.compile(r"/common/(?P<part>[^/]+)/(?P<version>[^/]+)\.json$")
_DROPPED_IN_DEFS = ("$schema", "$id")


def bundle(schema_set: SchemaSet) -> dict[str, Any]:
    """The root schema of `schema_set` with every reachable external definition under `$defs`.

    A whole common file becomes `$defs/<part>` (`user`, `referral`), a definition inside one
    becomes `$defs/<name>` (`timestamp`, `owner`); when two different targets want the same
    name, the part and then the version are prefixed, so names never depend on the machine.
    The root's own `$defs` keep their names. InvalidInput when a reference cannot be resolved.
    """
    return _Bundler(schema_set).run()


class _Bundler:
    """Copies the root schema, rewriting references and collecting their targets."""

    def __init__(self, schema_set: SchemaSet) -> None:
        self.schema_set = schema_set
        self.root_uri = schema_set.root.uri
        self.names: dict[tuple[str, str], str] = {}
        self.defs: dict[str, Any] = {}
        root = schema_set.schema
        own_defs = root.get("$defs", {}) if isinstance(root, Mapping) else {}
        for name in own_defs:
            self.names[(self.root_uri, f"/$defs/{name}")] = name

    def run(self) -> dict[str, Any]:
        root = self.schema_set.schema
        if not isinstance(root, Mapping):
            raise TypeError("an event schema is an object")
        copied = {key: self.copy(value, self.root_uri) for key, value in root.items()}
        own = copied.pop("$defs", {})
        merged = {**own, **{k: v for k, v in self.defs.items() if k not in own}}
        if merged:
            copied["$defs"] = merged
        return copied

    def copy(self, node: Any, base_uri: str) -> Any:
        if isinstance(node, list):
            return [self.copy(item, base_uri) for item in node]
        if not isinstance(node, Mapping):
            return node
        result: dict[str, Any] = {}
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                result[key] = self.reference(value, base_uri)
            elif key in ("examples", "default", "const", "enum"):
                result[key] = value  # instance data, not schemas: never rewritten
            else:
                result[key] = self.copy(value, base_uri)
        return result

    def reference(self, ref: str, base_uri: str) -> str:
        contents, uri, pointer = self.schema_set.resolve(ref, base_uri)
        if uri == self.root_uri and not pointer:
            return "#"
        key = (uri, pointer)
        name = self.names.get(key)
        if name is None:
            name = self.fresh_name(uri, pointer)
            self.names[key] = name
            self.defs[name] = {}  # reserve the slot first: definitions may be recursive
            body = self.copy(contents, uri)
            if isinstance(body, dict):
                for dropped in _DROPPED_IN_DEFS:
                    body.pop(dropped, None)
            self.defs[name] = body
        return f"#/$defs/{name}"

    def fresh_name(self, uri: str, pointer: str) -> str:
        path = urlsplit(uri).path
        match = _COMMON_PATH.search(path)
        part = match.group("part") if match else path.rsplit("/", 1)[-1].removesuffix(".json")
        version = match.group("version").replace(".", "_") if match else ""
        tokens = pointer_tokens(pointer)
        leaf = tokens[-1] if tokens else part
        taken = set(self.names.values())
        for candidate in (leaf, f"{part}_{leaf}", f"{part}_{version}_{leaf}"):
            candidate = _identifier(candidate)
            if candidate not in taken:
                return candidate
        index = 2
        while f"{_identifier(leaf)}_{index}" in taken:
            index += 1
        return f"{_identifier(leaf)}_{index}"


def _identifier(text: str) -> str:
    """A `$defs` key that is also a readable class-name seed: letters, digits, underscores."""
    cleaned = re.sub(r"[^A-Za-z0-9_]", "_", text).strip("_")
    return cleaned or "definition"
