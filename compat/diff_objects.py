"""Object and array comparisons: content models, required, dependencies, tuples and bounds.

Most real event-schema changes land here. The central idea (Confluent's) is the *content model*
of the side that matters: a property may only be added safely when the original was closed (old
data cannot hold it) or when what the original allowed for it is still accepted; a property may
only be removed safely when the update is open (old data holding it stays valid) or still covers
it. The same holds for tuple items. Draft-07 (`items` arrays, `additionalItems`, `dependencies`)
and 2020-12 (`prefixItems`, `items`, `dependentRequired`, `dependentSchemas`, `unevaluated*`)
spell these differently; each schema is read in its own draft.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from compat.diff_model import Kind, Node

if TYPE_CHECKING:
    from compat.diff import Context, Engine, Side


@dataclass(frozen=True)
class Rest:
    """What a schema allows beyond its declared properties or tuple items."""

    permits: bool  # False only for an explicit `false`
    schema: Node | None  # a real restriction; None for absent, `true` or `{}`
    present: bool  # whether the keyword is written at all


def _rest(node: Node, keyword: str) -> Rest:
    if keyword not in node.keywords:
        return Rest(True, None, False)
    value = node.keywords[keyword]
    if value is False:
        return Rest(False, None, True)
    if value is True or value == {}:
        return Rest(True, None, True)
    return Rest(True, node.child(keyword), True)


def _unevaluated(node: Node, keyword: str) -> Rest:
    """`unevaluated*` is 2020-12 only; in a draft-07 schema it is an unknown keyword instead."""
    return Rest(True, None, False) if node.draft7 else _rest(node, keyword)


def _accepts_anything(shape_kind: Kind) -> bool:
    return shape_kind in (Kind.EMPTY, Kind.TRUE)


def _has_default(engine: Engine, node: Node) -> bool:
    shape = engine.side(node, "").shape
    return any("default" in n.keywords for n in (shape.node, *shape.meta))


# -- objects ---------------------------------------------------------------------------------------


def _properties(node: Node) -> dict[str, Node]:
    declared = node.keywords.get("properties")
    if not isinstance(declared, Mapping):
        return {}
    return {name: child for name in declared if (child := node.child("properties", name))}


def _required(node: Node) -> list[str]:
    required = node.keywords.get("required")
    return [r for r in required if isinstance(r, str)] if isinstance(required, list) else []


def _patterns(node: Node) -> list[tuple[str, Node]]:
    declared = node.keywords.get("patternProperties")
    if not isinstance(declared, Mapping):
        return []
    return [(p, child) for p in declared if (child := node.child("patternProperties", p))]


def _object_open(node: Node) -> bool:
    additional = _rest(node, "additionalProperties")
    if _patterns(node) or not additional.permits or additional.schema is not None:
        return False
    if additional.present:
        return True
    unevaluated = _unevaluated(node, "unevaluatedProperties")
    return unevaluated.permits and unevaluated.schema is None


def _object_partial(node: Node, name: str) -> Node | None:
    """The schema an undeclared property `name` must match, when the object is partially open."""
    for pattern, schema in _patterns(node):
        try:
            if re.search(pattern, name):
                return schema
        except re.error:
            continue
    additional = _rest(node, "additionalProperties")
    if additional.present:
        return additional.schema
    return _unevaluated(node, "unevaluatedProperties").schema


def compare_object(engine: Engine, ctx: Context, old: Side, new: Side) -> None:
    o, n = old.shape.node, new.shape.node
    old_props, new_props = _properties(o), _properties(n)
    _compare_required(engine, ctx, old, new, old_props, new_props)
    for name in dict.fromkeys([*old_props, *new_props]):
        if name in old_props and name in new_props:
            engine.compare(
                ctx,
                engine.side(old_props[name], old.at("properties", name)),
                engine.side(new_props[name], new.at("properties", name)),
            )
        elif name in old_props:
            _property_removed(engine, ctx, old, new, name, old_props[name])
        else:
            _property_added(engine, ctx, old, new, name, new_props[name])
    _compare_dependencies(engine, ctx, old, new)
    _compare_rest(engine, ctx, old, new, "additionalProperties", "ADDITIONAL_PROPERTIES")
    _compare_unevaluated(engine, ctx, old, new, "unevaluatedProperties", "UNEVALUATED_PROPERTIES")
    engine.compare_bound(ctx, old, new, "maxProperties", "MAX_PROPERTIES")
    engine.compare_bound(ctx, old, new, "minProperties", "MIN_PROPERTIES")
    engine.compare(
        ctx,
        engine.side_of(o.child("propertyNames"), old.at("propertyNames")),
        engine.side_of(n.child("propertyNames"), new.at("propertyNames")),
        old.at("propertyNames"),
        new.at("propertyNames"),
    )


def _compare_required(
    engine: Engine,
    ctx: Context,
    old: Side,
    new: Side,
    old_props: Mapping[str, Node],
    new_props: Mapping[str, Node],
) -> None:
    """Required-ness of properties the original declares (added ones are judged with the addition).

    Confluent only looks at properties both schemas declare, so an update that drops a
    property's declaration and requires it in the same change would pass as a mere removal
    although old data without it is rejected: Refract reports REQUIRED_ATTRIBUTE_ADDED there.
    A name required without a declaration in either schema stays Confluent's call (silent):
    its own examples judge `required: [foo]` -> `[bar]` compatible (see
    compat.differences.CONFLUENT_UNSOUND_BY_DESIGN).
    """
    old_required, new_required = _required(old.shape.node), _required(new.shape.node)
    for name in old_props:
        was, now = name in old_required, name in new_required
        if was == now or (name not in new_props and was):
            continue  # unchanged, or a removed property whose content-model type says it all
        if was:
            type_ = "REQUIRED_ATTRIBUTE_REMOVED"
        elif name in new_props and _has_default(engine, new_props[name]):
            type_ = "REQUIRED_ATTRIBUTE_WITH_DEFAULT_ADDED"
        else:
            type_ = "REQUIRED_ATTRIBUTE_ADDED"
        ctx.add(
            type_,
            old.at("required", name),
            new.at("required", name),
            old.keyword_location("required", old_required.index(name)) if was else None,
            new.keyword_location("required", new_required.index(name)) if now else None,
        )


def _property_removed(
    engine: Engine, ctx: Context, old: Side, new: Side, name: str, schema: Node
) -> None:
    """Only the update's content model matters: can it still accept old data holding `name`?"""
    tokens = ("properties", name)
    if _object_open(new.shape.node):
        ctx.add_between(
            "PROPERTY_REMOVED_FROM_OPEN_CONTENT_MODEL",
            old,
            tokens,
            new,
            tokens,
            located=(True, False),
        )
        return
    partial = _object_partial(new.shape.node, name)
    if partial is not None:
        trial = ctx.sub()
        engine.compare(
            trial, engine.side(schema, old.at(*tokens)), engine.side(partial, new.at(*tokens))
        )
        ctx.extend(trial)
        covered = "IS" if trial.is_compatible() else "NOT"
        type_ = f"PROPERTY_REMOVED_{covered}_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL"
    elif schema.value is False:
        type_ = "PROPERTY_WITH_FALSE_REMOVED_FROM_CLOSED_CONTENT_MODEL"
    else:
        type_ = "PROPERTY_REMOVED_FROM_CLOSED_CONTENT_MODEL"
    ctx.add_between(type_, old, tokens, new, tokens, located=(True, False))


def _property_added(
    engine: Engine, ctx: Context, old: Side, new: Side, name: str, schema: Node
) -> None:
    """Only the original's content model matters: could old data already hold `name`?"""
    tokens = ("properties", name)
    required = name in _required(new.shape.node)
    default = required and _has_default(engine, schema)
    if _object_open(old.shape.node):
        if required:
            type_ = (
                f"REQUIRED_PROPERTY{'_WITH_DEFAULT' if default else ''}_ADDED_TO_OPEN_CONTENT_MODEL"
            )
        elif _accepts_anything(engine.side(schema, "").shape.kind):
            type_ = "PROPERTY_WITH_EMPTY_SCHEMA_ADDED_TO_OPEN_CONTENT_MODEL"
        else:
            type_ = "OPTIONAL_PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL"
        ctx.add_between(type_, old, tokens, new, tokens, located=(False, True))
        return
    partial = _object_partial(old.shape.node, name)
    if partial is not None:
        trial = ctx.sub()
        engine.compare(
            trial, engine.side(partial, old.at(*tokens)), engine.side(schema, new.at(*tokens))
        )
        ctx.extend(trial)
        covered = "IS" if trial.is_compatible() else "NOT"
        ctx.add_between(
            f"PROPERTY_ADDED_{covered}_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL",
            old,
            tokens,
            new,
            tokens,
            located=(False, True),
        )
    if required:
        type_ = (
            f"REQUIRED_PROPERTY{'_WITH_DEFAULT' if default else ''}_ADDED_TO_UNOPEN_CONTENT_MODEL"
        )
    else:
        type_ = "OPTIONAL_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL"
    ctx.add_between(type_, old, tokens, new, tokens, located=(False, True))


def _dependencies(
    node: Node,
) -> tuple[dict[str, tuple[str, list[str]]], dict[str, tuple[str, Node]]]:
    """(property dependencies, schema dependencies), each name -> (keyword, value)."""
    arrays: dict[str, tuple[str, list[str]]] = {}
    schemas: dict[str, tuple[str, Node]] = {}
    keywords = ("dependencies",) if node.draft7 else ("dependentRequired", "dependentSchemas")
    for keyword in keywords:
        declared = node.keywords.get(keyword)
        if not isinstance(declared, Mapping):
            continue
        for name, value in declared.items():
            if isinstance(value, list):
                arrays[name] = (keyword, [v for v in value if isinstance(v, str)])
            elif (child := node.child(keyword, name)) is not None:
                schemas[name] = (keyword, child)
    return arrays, schemas


def _compare_dependencies(engine: Engine, ctx: Context, old: Side, new: Side) -> None:
    old_arrays, old_schemas = _dependencies(old.shape.node)
    new_arrays, new_schemas = _dependencies(new.shape.node)
    for name in dict.fromkeys([*old_arrays, *new_arrays]):
        before, after = old_arrays.get(name), new_arrays.get(name)
        old_kw = (before or after or ("", []))[0]
        new_kw = (after or before or ("", []))[0]
        if after is None:
            type_ = "DEPENDENCY_ARRAY_REMOVED"
        elif before is None:
            type_ = "DEPENDENCY_ARRAY_ADDED"
        elif set(before[1]) == set(after[1]):
            continue
        elif set(after[1]) >= set(before[1]):
            type_ = "DEPENDENCY_ARRAY_EXTENDED"
        elif set(before[1]) >= set(after[1]):
            type_ = "DEPENDENCY_ARRAY_NARROWED"
        else:
            type_ = "DEPENDENCY_ARRAY_CHANGED"
        ctx.add_between(
            type_,
            old,
            (old_kw, name),
            new,
            (new_kw, name),
            located=(before is not None, after is not None),
        )
    for name in dict.fromkeys([*old_schemas, *new_schemas]):
        was, now = old_schemas.get(name), new_schemas.get(name)
        old_kw = (was or now or ("", None))[0]
        new_kw = (now or was or ("", None))[0]
        if now is None:
            ctx.add_between("DEPENDENCY_SCHEMA_REMOVED", old, (old_kw, name), new, (new_kw, name))
        elif was is None:
            ctx.add_between("DEPENDENCY_SCHEMA_ADDED", old, (old_kw, name), new, (new_kw, name))
        else:
            engine.compare(
                ctx,
                engine.side(was[1], old.at(old_kw, name)),
                engine.side(now[1], new.at(new_kw, name)),
            )


def _compare_rest_values(
    engine: Engine,
    ctx: Context,
    old: Side,
    new: Side,
    before: Rest,
    after: Rest,
    tokens: tuple[str, str],
    prefix: str,
) -> None:
    """additionalProperties / additionalItems: allowed at all, then restricted how."""
    old_kw, new_kw = tokens
    if before.permits != after.permits:
        type_ = f"{prefix}_ADDED" if after.permits else f"{prefix}_REMOVED"
    elif before.schema is None and after.schema is not None:
        type_ = f"{prefix}_NARROWED"
    elif before.schema is not None and after.schema is None:
        type_ = f"{prefix}_EXTENDED"
    else:
        if before.schema is not None and after.schema is not None:
            engine.compare(
                ctx,
                engine.side(before.schema, old.at(old_kw)),
                engine.side(after.schema, new.at(new_kw)),
            )
        return
    ctx.add_between(type_, old, (old_kw,), new, (new_kw,))


def _compare_rest(
    engine: Engine, ctx: Context, old: Side, new: Side, keyword: str, prefix: str
) -> None:
    before, after = _rest(old.shape.node, keyword), _rest(new.shape.node, keyword)
    _compare_rest_values(engine, ctx, old, new, before, after, (keyword, keyword), prefix)


def _compare_unevaluated(
    engine: Engine, ctx: Context, old: Side, new: Side, keyword: str, prefix: str
) -> None:
    before = _unevaluated(old.shape.node, keyword)
    after = _unevaluated(new.shape.node, keyword)
    if not before.present and not after.present:
        return
    if before.permits and after.permits and before.schema is None and after.schema is None:
        return
    if not after.permits and before.permits:
        type_ = f"{prefix}_REMOVED"
    elif not before.permits and after.permits:
        type_ = f"{prefix}_ADDED"
    elif before.schema is None and after.schema is not None:
        type_ = f"{prefix}_NARROWED"
    elif before.schema is not None and after.schema is None:
        type_ = f"{prefix}_EXTENDED"
    else:
        if before.schema is not None and after.schema is not None:
            engine.compare(
                ctx,
                engine.side(before.schema, old.at(keyword)),
                engine.side(after.schema, new.at(keyword)),
            )
        return
    ctx.add_at(type_, old, new, keyword)


# -- arrays ----------------------------------------------------------------------------------------


def _tuple_keyword(node: Node) -> str:
    return "items" if node.draft7 else "prefixItems"


def _tuple_items(node: Node) -> list[Node]:
    declared = node.keywords.get(_tuple_keyword(node))
    if not isinstance(declared, list):
        return []
    return [child for i in range(len(declared)) if (child := node.child(_tuple_keyword(node), i))]


def _all_items(node: Node) -> Node | None:
    """The schema every item must match (draft-07 object `items`; 2020-12 `items` without tuple)."""
    if not node.draft7 and "prefixItems" in node.keywords:
        return None
    value = node.keywords.get("items")
    if value is None or isinstance(value, list) or value is True or value == {}:
        return None
    return node.child("items")


def _additional_keyword(node: Node) -> str:
    return "additionalItems" if node.draft7 else "items"


def _additional_items(node: Node) -> Rest:
    if not node.draft7 and "prefixItems" not in node.keywords:
        return Rest(True, None, False)  # 2020-12 `items` is then the all-items schema
    return _rest(node, _additional_keyword(node))


def _array_open(node: Node) -> bool:
    additional = _additional_items(node)
    if not additional.permits or additional.schema is not None:
        return False
    unevaluated = _unevaluated(node, "unevaluatedItems")
    return additional.present or (unevaluated.permits and unevaluated.schema is None)


def _array_partial(node: Node) -> Node | None:
    additional = _additional_items(node)
    if additional.present:
        return additional.schema
    return _unevaluated(node, "unevaluatedItems").schema


def compare_array(engine: Engine, ctx: Context, old: Side, new: Side) -> None:
    o, n = old.shape.node, new.shape.node
    engine.compare(
        ctx,
        engine.side_of(_all_items(o), old.at("items")),
        engine.side_of(_all_items(n), new.at("items")),
        old.at("items"),
        new.at("items"),
    )
    _compare_tuples(engine, ctx, old, new)
    _compare_rest_values(
        engine,
        ctx,
        old,
        new,
        _additional_items(o),
        _additional_items(n),
        (_additional_keyword(o), _additional_keyword(n)),
        "ADDITIONAL_ITEMS",
    )
    _compare_unevaluated(engine, ctx, old, new, "unevaluatedItems", "UNEVALUATED_ITEMS")
    engine.compare_bound(ctx, old, new, "maxItems", "MAX_ITEMS")
    engine.compare_bound(ctx, old, new, "minItems", "MIN_ITEMS")
    before, after = o.keywords.get("uniqueItems") is True, n.keywords.get("uniqueItems") is True
    if before != after:
        ctx.add_at(
            "UNIQUE_ITEMS_REMOVED" if before else "UNIQUE_ITEMS_ADDED", old, new, "uniqueItems"
        )
    if not o.draft7 and not n.draft7:
        engine.compare_bound(ctx, old, new, "maxContains", "MAX_CONTAINS")
        engine.compare_bound(ctx, old, new, "minContains", "MIN_CONTAINS")
    engine.compare(
        ctx,
        engine.side_of(o.child("contains"), old.at("contains")),
        engine.side_of(n.child("contains"), new.at("contains")),
        old.at("contains"),
        new.at("contains"),
    )


def _compare_tuples(engine: Engine, ctx: Context, old: Side, new: Side) -> None:
    o, n = old.shape.node, new.shape.node
    old_items, new_items = _tuple_items(o), _tuple_items(n)
    old_kw, new_kw = _tuple_keyword(o), _tuple_keyword(n)
    for index in range(max(len(old_items), len(new_items))):
        old_tokens, new_tokens = (old_kw, str(index)), (new_kw, str(index))
        if index < len(old_items) and index < len(new_items):
            engine.compare(
                ctx,
                engine.side(old_items[index], old.at(*old_tokens)),
                engine.side(new_items[index], new.at(*new_tokens)),
            )
            continue
        if index < len(old_items):
            item = old_items[index]
            located = (True, False)
            if _array_open(n):
                ctx.add_between(
                    "ITEM_REMOVED_FROM_OPEN_CONTENT_MODEL",
                    old,
                    old_tokens,
                    new,
                    new_tokens,
                    located=located,
                )
                continue
            partial = _array_partial(n)
            if partial is not None:
                trial = ctx.sub()
                engine.compare(
                    trial,
                    engine.side(item, old.at(*old_tokens)),
                    engine.side(partial, new.at(*new_tokens)),
                )
                ctx.extend(trial)
                covered = "IS" if trial.is_compatible() else "NOT"
                type_ = f"ITEM_REMOVED_{covered}_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL"
            elif item.value is False:
                type_ = "ITEM_WITH_FALSE_REMOVED_FROM_CLOSED_CONTENT_MODEL"
            else:
                type_ = "ITEM_REMOVED_FROM_CLOSED_CONTENT_MODEL"
            ctx.add_between(type_, old, old_tokens, new, new_tokens, located=located)
            continue
        item = new_items[index]
        located = (False, True)
        if _array_open(o):
            if _accepts_anything(engine.side(item, "").shape.kind):
                type_ = "ITEM_WITH_EMPTY_SCHEMA_ADDED_TO_OPEN_CONTENT_MODEL"
            else:
                type_ = "ITEM_ADDED_TO_OPEN_CONTENT_MODEL"
        elif (partial := _array_partial(o)) is not None:
            trial = ctx.sub()
            engine.compare(
                trial,
                engine.side(partial, old.at(*old_tokens)),
                engine.side(item, new.at(*new_tokens)),
            )
            ctx.extend(trial)
            covered = "IS" if trial.is_compatible() else "NOT"
            type_ = f"ITEM_ADDED_{covered}_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL"
        else:
            type_ = "ITEM_ADDED_TO_CLOSED_CONTENT_MODEL"
        ctx.add_between(type_, old, old_tokens, new, new_tokens, located=located)
