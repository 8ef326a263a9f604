"""Pydantic v2 models for one event version, generated with datamodel-code-generator.

datamodel-code-generator (used as a library, never as a subprocess) turns the bundled schema
into classes; this module decides what it is given and patches what the SDK's model
construction contract needs on top (see docs/codegen.md):

- `format` keywords are withheld from the generator: it would map them to `UUID`, `datetime`,
  `EmailStr` or `IPv4Address`, whose JSON spelling differs from the contract's (a datetime
  dumps with microseconds, EmailStr needs an extra package). Fields stay `str` with the
  contract's pattern and length constraints; format assertion is the gateway's job.
- `sent_at`, `producer` and `dedup_key` are optional in the model because the emitter stamps
  them at send time; `event_id`, `schema`, `event_name` and `occurred_at` get defaults so a
  product engineer never writes them.
- the top-level class gets `example()`, built from the contract's first example.
"""

from __future__ import annotations

import ast
import json
from collections.abc import Mapping
from typing import Any

import jsonschema
from datamodel_code_generator import generate
from datamodel_code_generator.enums import DataModelType, InputFileType
from datamodel_code_generator.format import Formatter, PythonVersion
from datamodel_code_generator.parser import LiteralType
from referencing import Registry

from codegen.bundle import bundle
from codegen.format import format_python
from codegen.names import class_name, header
from compat.catalogue import EventVersion
from compat.source import InvalidInput, display_path

# Envelope fields the emitter stamps at send time: optional at construction.
STAMPED_AT_SEND = ("sent_at", "producer", "dedup_key")
# Envelope fields defaulted at construction, and the Python expression of each default.
_DEFAULT_FACTORIES = {"event_id": "new_event_id", "occurred_at": "utc_now_ms"}
_WITHHELD = ("format", "examples")


def generator_view(schema: Mapping[str, Any]) -> dict[str, Any]:
    """The bundled schema as given to datamodel-code-generator (see the module docstring)."""
    view: dict[str, Any] = _without(schema, _WITHHELD)
    required = view.get("required")
    if isinstance(required, list):
        view["required"] = [name for name in required if name not in STAMPED_AT_SEND]
    return view


def _without(node: Any, keys: tuple[str, ...]) -> Any:
    if isinstance(node, list):
        return [_without(item, keys) for item in node]
    if isinstance(node, Mapping):
        return {
            key: value if key in ("const", "enum", "default") else _without(value, keys)
            for key, value in node.items()
            if key not in keys
        }
    return node


def render_version_module(version: EventVersion, source: str) -> str:
    """The formatted module text for `version`; `source` is the contract path in the header."""
    schema = bundle(version.schema_set)
    examples = schema.get("examples")
    if not isinstance(examples, list) or not examples or not isinstance(examples[0], dict):
        raise InvalidInput(f"{display_path(version.path)}: needs at least one object in examples")
    name = class_name(version.event)
    body = _generate(generator_view(schema), name, version)
    body = _patch_event_class(body, name, version, _construction_defaults(schema, version))
    title = str(schema.get("title", name))
    docstring = (
        f'"""Models of `{version.ref}` ({title}), generated from {source}.\n\n'
        f"`{name}` is the event; the other classes are its nested objects.\n"
        '"""\n\n'  # blank line spelled out: black < 26 only adds it when no comment precedes
    )
    text = (
        header(source)
        + docstring
        + body
        + "\n\n# The contract's first example, from which `example()` builds an instance.\n"
        + f"_EXAMPLE: dict[str, Any] = {examples[0]!r}\n"
    )
    return format_python(text)


def _generate(view: dict[str, Any], name: str, version: EventVersion) -> str:
    output = generate(
        json.dumps(view, ensure_ascii=False),
        input_file_type=InputFileType.JsonSchema,
        output_model_type=DataModelType.PydanticV2BaseModel,
        target_python_version=PythonVersion.PY_311,
        class_name=name,
        disable_timestamp=True,
        use_annotated=True,
        field_constraints=True,
        use_schema_description=True,
        use_field_description=True,
        use_double_quotes=True,
        use_standard_collections=True,
        use_union_operator=True,
        collapse_root_models=True,
        enum_field_as_literal=LiteralType.All,
        extra_fields="forbid",
        allow_population_by_field_name=True,
        formatters=[Formatter.BUILTIN],
        custom_file_header="",
    )
    if not isinstance(output, str):
        raise InvalidInput(f"{display_path(version.path)}: the model generator returned no module")
    return _without_generator_header(output)


def _without_generator_header(code: str) -> str:
    """The generated code from its first import on (its own header comments are replaced)."""
    lines = code.splitlines(keepends=True)
    for index, line in enumerate(lines):
        if line.startswith(("from ", "import ")):
            return "".join(lines[index:])
    return code


def _construction_defaults(schema: Mapping[str, Any], version: EventVersion) -> dict[str, str]:
    """Field name -> Python default expression for the top-level fields that get one.

    Besides the envelope defaults, a `const` field defaults to its value (`source` of an event
    with one source) and a required object field that accepts `{}` (e.g. `privacy`, whose
    fields are all optional: absence means "not known") defaults to an empty instance, so a
    product engineer only writes what the event is about. The empty-object case is decided by
    validating `{}` against the field's schema, not by reading keywords.
    """
    defaults = {
        name: f"Field(default_factory={factory})" for name, factory in _DEFAULT_FACTORIES.items()
    }
    defaults["schema_"] = json.dumps(version.ref)
    properties = schema.get("properties", {})
    required = set(schema.get("required", []))
    for name, subschema in properties.items():
        if not isinstance(subschema, Mapping) or name in defaults or name == "schema":
            continue
        if "const" in subschema:
            defaults[name] = repr(subschema["const"])
        elif name in required and _accepts_empty_object(schema, subschema):
            defaults[name] = _EMPTY_OBJECT
    return defaults


_EMPTY_OBJECT = "<empty object>"


def _accepts_empty_object(root: Mapping[str, Any], subschema: Mapping[str, Any]) -> bool:
    document = {**subschema, "$defs": root.get("$defs", {})}
    # An empty registry: jsonschema's default would fetch a remote `$ref` of the contract.
    validator = jsonschema.Draft202012Validator(document, registry=Registry())
    return bool(validator.is_valid({}))


def _patch_event_class(
    code: str, name: str, version: EventVersion, defaults: dict[str, str]
) -> str:
    """Give the envelope fields their construction defaults and add `example()`.

    The fields are located with `ast` (not text patterns), so the generator's formatting of
    annotations does not matter; each assignment is rewritten from its own annotation.
    """
    tree = ast.parse(code)
    event_class = next(
        (n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == name), None
    )
    if event_class is None:
        raise InvalidInput(f"{display_path(version.path)}: no class {name} was generated")
    lines = code.splitlines(keepends=True)
    replacements: list[tuple[int, int, str]] = []
    for node in event_class.body:
        if not isinstance(node, ast.AnnAssign) or not isinstance(node.target, ast.Name):
            continue
        field_name = node.target.id
        annotation = ast.get_source_segment(code, node.annotation)
        default = defaults.get(field_name)
        if default is None or annotation is None:
            continue
        if default == _EMPTY_OBJECT:
            if not isinstance(node.annotation, ast.Name):
                continue  # a union or constrained type has no single class to instantiate
            default = f"Field(default_factory={node.annotation.id})"
        replacements.append(
            (
                node.lineno,
                node.end_lineno or node.lineno,
                f"    {field_name}: {annotation} = {default}\n",
            )
        )
    end = event_class.end_lineno or len(lines)
    addition = (
        "\n    @classmethod\n"
        "    def example(cls) -> Self:\n"
        '        """A valid instance built from the contract\'s first example."""\n'
        "        return cls.model_validate(_EXAMPLE)\n"
    )
    lines.insert(end, addition)
    for first, last, text in sorted(replacements, reverse=True):
        lines[first - 1 : last] = [text]
    return _with_imports("".join(lines))


def _with_imports(code: str) -> str:
    """Add the imports the patches use, keeping the generator's import block sorted."""
    typing_line = next(
        (line for line in code.splitlines() if line.startswith("from typing import ")), None
    )
    names = {"Any", "Self"}
    if typing_line is not None:
        names |= {n.strip() for n in typing_line.removeprefix("from typing import ").split(",")}
        code = code.replace(typing_line, f"from typing import {', '.join(sorted(names))}", 1)
    else:
        code = code.replace("\nfrom pydantic", "\nfrom typing import Any, Self\n\nfrom pydantic", 1)
    pydantic_line = next(line for line in code.splitlines() if line.startswith("from pydantic "))
    pydantic_names = {
        n.strip() for n in pydantic_line.removeprefix("from pydantic import ").split(",")
    }
    pydantic_names.add("Field")
    code = code.replace(
        pydantic_line,
        f"from pydantic import {', '.join(sorted(pydantic_names))}\n\n"
        "from .._base import new_event_id, utc_now_ms",
        1,
    )
    return code
