"""Verifying the lens that must accompany a new major version.

A major version breaks readers of the old one on purpose; what keeps old data usable is the
lens. Before a new major is registered, the registry checks that the lens really turns data of
the previous major into valid data of the new one: it applies the lens to the previous
version's own `examples` and to instances generated from its schema (hypothesis-jsonschema,
derandomized, a bounded number), and validates every result against the new schema. The first
failure - shrunk by hypothesis to a small instance - is reported with the lens output and the
validation error, so the author sees exactly which old event the lens mistranslates.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import jsonschema
import jsonschema.exceptions

from compat.lens import Lens, LensApplyError, LensInvalid, apply, parse_lens
from compat.source import pointer_join
from registry_service.registry import errors
from registry_service.registry.errors import RegistryError
from registry_service.registry.schemas import ParsedSchema

GENERATED_INSTANCES = 40
# hypothesis keeps per-thread state but its engine is not meant to run several searches at
# once in one process; registrations of different subjects may verify lenses concurrently.
_HYPOTHESIS = threading.Lock()


@dataclass
class _Failure(Exception):
    instance: Any
    output: Any
    reason: str


def read_lens(value: Any, previous: ParsedSchema, new: ParsedSchema) -> Lens:
    """The lens from the request, checked for format and for joining exactly these versions."""
    try:
        lens = parse_lens(value, display="lens")
    except LensInvalid as exc:
        raise RegistryError(
            errors.LENS_INVALID,
            f"Invalid lens: {exc}",
            problems=[str(problem) for problem in exc.problems],
        ) from None
    if lens.source != previous.ref or lens.target != new.ref:
        raise RegistryError(
            errors.LENS_INVALID,
            f"Invalid lens: it translates {lens.source} to {lens.target}, but this registration "
            f"needs {previous.ref} (the newest version of the previous major) to {new.ref}",
        )
    return lens


def verify_lens(
    lens: Lens, previous: ParsedSchema, new: ParsedSchema, *, generated: int = GENERATED_INSTANCES
) -> int:
    """Raise 42292 with the failing example unless the lens maps previous-major data into the
    new schema; returns how many instances were checked."""
    source = _validator(previous.value)
    target = _validator(new.value)
    checked = 0

    def check(instance: Any) -> None:
        nonlocal checked
        checked += 1
        try:
            output = apply(lens, instance)
        except LensApplyError as exc:
            raise _Failure(instance, None, f"the lens cannot translate it: {exc}") from None
        error = jsonschema.exceptions.best_match(target.iter_errors(output))
        if error is not None:
            where = "#" + pointer_join("", *error.absolute_path)
            raise _Failure(instance, output, f"the result is invalid at {where}: {error.message}")

    try:
        examples = previous.value.get("examples", []) if isinstance(previous.value, Mapping) else []
        for example in examples if isinstance(examples, list) else []:
            if source.is_valid(example):
                check(example)
        if generated > 0:
            checked += _generated(previous, source, check, generated)
    except _Failure as failure:
        raise RegistryError(
            errors.LENS_VERIFICATION_FAILED,
            f"Lens {lens.source} -> {lens.target} fails on an instance of {previous.ref}: "
            f"{failure.reason}",
            example=failure.instance,
            lens_output=failure.output,
        ) from None
    return checked


def _generated(previous: ParsedSchema, source: Any, check: Any, count: int) -> int:
    """Run `check` on `count` generated valid instances; the failure raised is the shrunk one."""
    from hypothesis import HealthCheck, Phase, assume, given, settings
    from hypothesis.errors import HypothesisException
    from hypothesis_jsonschema import from_schema

    try:
        strategy = from_schema(_generation_view(previous.value))
    except Exception:  # a schema hypothesis-jsonschema cannot canonicalise: examples only
        return 0
    ref = previous.ref
    seen = 0

    @settings(
        database=None,
        derandomize=True,
        max_examples=count,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        phases=[Phase.generate, Phase.shrink],
        report_multiple_bugs=False,
    )
    @given(strategy)
    def run(instance: Any) -> None:
        nonlocal seen
        if isinstance(instance, dict) and ref is not None:
            instance = {**instance, "schema": ref}
        assume(source.is_valid(instance))
        seen += 1
        check(instance)

    with _HYPOTHESIS:
        try:
            run()
        except _Failure:
            raise
        except HypothesisException:  # nothing valid could be generated: examples only
            return 0
    return seen


def _generation_view(node: Any) -> Any:
    """The schema as hypothesis should see it: no `format` where a `pattern` pins the spelling
    (generating from the format and filtering by the pattern rejects nearly everything), no
    examples. Generated instances are still validated against the real schema."""
    if isinstance(node, list):
        return [_generation_view(item) for item in node]
    if isinstance(node, dict):
        drop = "format" if "pattern" in node else None
        return {
            key: value if key in ("const", "enum", "default") else _generation_view(value)
            for key, value in node.items()
            if key not in (drop, "examples")
        }
    return node


def _validator(schema: Any) -> Any:
    cls = jsonschema.Draft202012Validator
    return cls(schema, format_checker=cls.FORMAT_CHECKER)
