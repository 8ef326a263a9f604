"""The JSON Schema diff engine: what changed between two schemas, in Confluent's vocabulary.

`diff_schemas(original, update)` walks both schemas together the way Confluent Schema
Registry's `SchemaDiff` does ("original" wrote the data, "update" reads it) and reports every
difference with its Confluent `Difference.Type` name, its path in each schema and the exact
position of the keyword in the file that holds it. Agreeing with Confluent matters because teams
move schemas between registries and tooling; where Confluent is silent (format assertion,
annotations, keywords it does not know) the engine says so with `REFRACT_*` types instead of
staying quiet.

Paths are traversal paths: they continue from the referring location through `$ref`, exactly as
Confluent's do, while locations name the referenced file. The root path is `#` (a JSON pointer);
Confluent prints it as `#/`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from compat import diff_objects
from compat.diff_model import (
    CONDITIONAL_KEYWORDS,
    METADATA_KEYWORDS,
    Kind,
    Node,
    Shape,
    ShapeBuilder,
    Sub,
    canonical,
    is_annotation,
    known_keywords,
)
from compat.differences import (
    REFRACT_ANNOTATION_CHANGED,
    REFRACT_CONDITIONAL_ADDED,
    REFRACT_CONDITIONAL_CHANGED,
    REFRACT_CONDITIONAL_REMOVED,
    REFRACT_DIALECT_CHANGED,
    REFRACT_FORMAT_ADDED,
    REFRACT_FORMAT_CHANGED,
    REFRACT_FORMAT_REMOVED,
    REFRACT_UNKNOWN_KEYWORD_CHANGED,
    compatible_set,
)
from compat.model import Policy
from compat.source import Location, SchemaSet, pointer_escape


@dataclass(frozen=True)
class Difference:
    """One difference: its type, its path in each schema and where its keyword sits in each file."""

    type: str
    old_path: str
    new_path: str
    old_location: Location | None
    new_location: Location | None


@dataclass(frozen=True)
class Side:
    """One schema's position in the walk: the shape reached and the traversal path to it."""

    shape: Shape
    path: str  # JSON pointer without '#'

    def at(self, *tokens: str) -> str:
        return self.path + "".join("/" + pointer_escape(t) for t in tokens)

    def keyword_location(self, *tokens: str | int) -> Location | None:
        """Where `tokens` sit in the node that validates this schema, None if absent."""
        node = self.shape.node
        return _locate(node, *tokens) if node.child(*tokens) is not None else None

    def location(self) -> Location:
        return _locate(self.shape.node)


def _locate(node: Node, *tokens: str | int) -> Location:
    target = node.child(*tokens) if tokens else node
    pointer = target.pointer if target is not None else node.pointer
    return node.owner.locate(node.uri, pointer)


class Context:
    """Collects differences; a sub-context tries a comparison without committing to it."""

    def __init__(self, compatible: frozenset[str]) -> None:
        self.compatible_types = compatible
        self.diffs: list[Difference] = []

    def sub(self) -> Context:
        return Context(self.compatible_types)

    def is_compatible(self) -> bool:
        return all(d.type in self.compatible_types for d in self.diffs)

    def add(
        self,
        type_: str,
        old_path: str,
        new_path: str,
        old_location: Location | None,
        new_location: Location | None,
    ) -> None:
        self.diffs.append(
            Difference(type_, "#" + old_path, "#" + new_path, old_location, new_location)
        )

    def add_at(self, type_: str, old: Side, new: Side, *tokens: str) -> None:
        """A difference about keyword `tokens` of both schemas (or about the schemas themselves)."""
        if tokens:
            self.add(
                type_,
                old.at(*tokens),
                new.at(*tokens),
                old.keyword_location(*tokens),
                new.keyword_location(*tokens),
            )
        else:
            self.add(type_, old.path, new.path, old.location(), new.location())

    def add_between(
        self,
        type_: str,
        old: Side,
        old_tokens: Sequence[str | int],
        new: Side,
        new_tokens: Sequence[str | int],
        *,
        located: tuple[bool, bool] = (True, True),
    ) -> None:
        """A difference whose keyword is spelled differently in each schema (draft-07 vs 2020-12)."""
        self.add(
            type_,
            old.at(*map(str, old_tokens)),
            new.at(*map(str, new_tokens)),
            old.keyword_location(*old_tokens) if located[0] else None,
            new.keyword_location(*new_tokens) if located[1] else None,
        )

    def extend(self, other: Context) -> None:
        self.diffs.extend(other.diffs)


def _number(value: Any) -> Fraction | None:
    """A JSON number as an exact fraction (so 0.1 compares as 1/10), None for anything else."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return Fraction(repr(value)) if isinstance(value, float) else Fraction(value)


class Engine:
    """Walks two schema sets together; holds the per-walk state (shape caches, cycle guard)."""

    def __init__(self, original: SchemaSet, update: SchemaSet, policy: Policy) -> None:
        self._builders = {id(original): ShapeBuilder(original), id(update): ShapeBuilder(update)}
        self._roots = (self._builders[id(original)].root(), self._builders[id(update)].root())
        self.compatible_types = compatible_set(policy)
        self._in_progress: set[tuple[Any, ...]] = set()

    def run(self) -> list[Difference]:
        ctx = Context(self.compatible_types)
        old_root, new_root = self._roots
        old, new = self.side(old_root, ""), self.side(new_root, "")
        if canonical(old_root.keywords.get("$schema")) != canonical(
            new_root.keywords.get("$schema")
        ):
            ctx.add_at(REFRACT_DIALECT_CHANGED, old, new, "$schema")
        self.compare(ctx, old, new)
        return list(dict.fromkeys(ctx.diffs))  # synthetic sub-schemas can repeat a finding

    def side(self, node: Node, path: str) -> Side:
        """The shape of `node` (built by the builder of the schema set that owns it) at `path`."""
        return Side(self._builders[id(node.owner)].shape(node), path)

    def side_of(self, node: Node | None, path: str) -> Side | None:
        return None if node is None else self.side(node, path)

    # -- the generic comparison (Confluent's SchemaDiff.compare) ---------------------------------

    def compare(
        self,
        ctx: Context,
        old: Side | None,
        new: Side | None,
        old_path: str = "",
        new_path: str = "",
    ) -> None:
        """Compare two schemas; `old_path`/`new_path` name the place when one side is absent."""
        if old is None and new is None:
            return
        if old is None:
            assert new is not None
            ctx.add("SCHEMA_ADDED", old_path, new.path, None, new.location())
            return
        if new is None:
            ctx.add("SCHEMA_REMOVED", old.path, new_path, old.location(), None)
            return
        key = (old.shape.key(), new.shape.key())
        if key in self._in_progress:
            return  # a recursive reference met again: the pair is already being compared
        self._in_progress.add(key)
        try:
            self._compare(ctx, old, new)
        finally:
            self._in_progress.discard(key)

    def _compare(self, ctx: Context, old: Side, new: Side) -> None:
        o, n = old.shape, new.shape
        # Keywords that constrain whatever the kind (format, if/then/else, unknown ones) are
        # compared first: the kind-based shortcuts below (an update that is `{}` plus a format,
        # an old value matching one alternative of an update that also has a format) would
        # otherwise skip them.
        if o.kind is not Kind.FALSE:  # what accepted nothing cannot lose anything
            self._compare_assertions(ctx, old, new)
        if o.kind is not Kind.COMBINED and n.kind is Kind.COMBINED:
            if len(n.subs) == 1:
                sub = ctx.sub()
                self.compare(sub, old, self._sub_side(new, n.subs[0]))
                if sub.is_compatible():
                    ctx.extend(sub)
                    return
            elif n.criterion in ("anyOf", "oneOf"):
                for member in n.subs:
                    sub = ctx.sub()
                    self.compare(sub, old, self._sub_side(new, member))
                    if sub.is_compatible():
                        ctx.extend(sub)
                        ctx.add_at("SUM_TYPE_EXTENDED", old, new)
                        return
        elif o.kind is Kind.COMBINED and n.kind is not Kind.COMBINED:
            if len(o.subs) == 1:
                sub = ctx.sub()
                self.compare(sub, self._sub_side(old, o.subs[0]), new)
                if sub.is_compatible():
                    ctx.extend(sub)
                    return
            elif o.criterion == "allOf":
                for member in o.subs:
                    sub = ctx.sub()
                    self.compare(sub, self._sub_side(old, member), new)
                    if sub.is_compatible():
                        ctx.extend(sub)
                        ctx.add_at("PRODUCT_TYPE_NARROWED", old, new)
                        return

        if o.kind is not n.kind:
            if {o.kind, n.kind} == {Kind.ENUM, Kind.CONST}:
                self._compare_values(ctx, old, new)
                return
            if o.kind is Kind.FALSE or n.kind in (Kind.EMPTY, Kind.TRUE):
                return  # the update accepts everything, or the original accepted nothing
            ctx.add_at("TYPE_CHANGED", old, new)
            return

        self._compare_metadata(ctx, old, new)
        if o.typed != n.typed:
            # A schema typed only by its keywords lets every other type through; declaring the
            # type rejects those (Confluent's loader keeps the distinction, its diff ignores it).
            ctx.add_at("TYPE_NARROWED" if o.typed is False else "TYPE_EXTENDED", old, new)
        kind = o.kind
        if kind is Kind.STRING:
            self._compare_string(ctx, old, new)
        elif kind is Kind.NUMBER:
            self._compare_number(ctx, old, new)
        elif kind in (Kind.ENUM, Kind.CONST):
            self._compare_values(ctx, old, new)
        elif kind is Kind.COMBINED:
            self._compare_combined(ctx, old, new)
        elif kind is Kind.NOT:
            self._compare_not(ctx, old, new)
        elif kind is Kind.OBJECT:
            diff_objects.compare_object(self, ctx, old, new)
        elif kind is Kind.ARRAY:
            diff_objects.compare_array(self, ctx, old, new)

    @staticmethod
    def _sub_side(parent: Side, member: Sub) -> Side:
        return Side(member.shape, parent.at(*member.tokens))

    # -- metadata, annotations, format and unknown keywords -----------------------------------

    def _compare_metadata(self, ctx: Context, old: Side, new: Side) -> None:
        """Metadata and annotations, read along the `$ref` chain (Confluent compares them only
        between schemas of the same kind, and so does the engine)."""
        old_kw = _effective_keywords(old.shape)
        new_kw = _effective_keywords(new.shape)
        for keyword, type_ in METADATA_KEYWORDS.items():
            if _differs(old_kw, new_kw, keyword):
                _report(ctx, old, new, old_kw, new_kw, type_, keyword, at_keyword=False)
        for keyword in dict.fromkeys([*old_kw, *new_kw]):
            if is_annotation(keyword) and _differs(old_kw, new_kw, keyword):
                _report(ctx, old, new, old_kw, new_kw, REFRACT_ANNOTATION_CHANGED, keyword)

    def _compare_assertions(self, ctx: Context, old: Side, new: Side) -> None:
        """format, if/then/else and unknown keywords: constraints that hold whatever the kind.

        Each is located in the node that supplies its effective value (a `format` beside a
        `$ref` sits in the referring file, one inside the referenced schema in that file).
        """
        old_kw = _effective_keywords(old.shape)
        new_kw = _effective_keywords(new.shape)
        if _differs(old_kw, new_kw, "format"):
            if "format" not in old_kw:
                type_ = REFRACT_FORMAT_ADDED
            elif "format" not in new_kw:
                type_ = REFRACT_FORMAT_REMOVED
            else:
                type_ = REFRACT_FORMAT_CHANGED
            _report(ctx, old, new, old_kw, new_kw, type_, "format")
        old_known = known_keywords(old.shape.node.draft7)
        new_known = known_keywords(new.shape.node.draft7)
        for keyword in dict.fromkeys([*old_kw, *new_kw]):
            if is_annotation(keyword) or not _differs(old_kw, new_kw, keyword):
                continue
            if keyword not in old_known or keyword not in new_known:
                _report(ctx, old, new, old_kw, new_kw, REFRACT_UNKNOWN_KEYWORD_CHANGED, keyword)
        self._compare_conditional(ctx, old, new)

    def _compare_conditional(self, ctx: Context, old: Side, new: Side) -> None:
        """if/then/else: with the same `if`, `then` and `else` are sub-schemas compared in place.

        Data the original accepted either matched `if` (so it matched the original's `then`) or
        not (so it matched its `else`); the same `if` sends it to the same branch of the update.
        A different `if` re-routes old data between branches, which is judged as breaking.
        """
        o, n = old.shape.node, new.shape.node
        old_if, new_if = o.child("if"), n.child("if")
        if old_if is None and new_if is None:
            for keyword in CONDITIONAL_KEYWORDS[1:]:  # without `if` they validate nothing
                if canonical(o.keywords.get(keyword)) != canonical(n.keywords.get(keyword)):
                    ctx.add_at(REFRACT_ANNOTATION_CHANGED, old, new, keyword)
            return
        if old_if is None:
            ctx.add_at(REFRACT_CONDITIONAL_ADDED, old, new, "if")
            return
        if new_if is None:
            ctx.add_at(REFRACT_CONDITIONAL_REMOVED, old, new, "if")
            return
        if not self._same_schema(ctx, old_if, new_if):
            ctx.add_at(REFRACT_CONDITIONAL_CHANGED, old, new, "if")
            return
        for keyword in CONDITIONAL_KEYWORDS[1:]:
            self.compare(
                ctx,
                self.side_of(o.child(keyword), old.at(keyword)),
                self.side_of(n.child(keyword), new.at(keyword)),
                old.at(keyword),
                new.at(keyword),
            )

    def _same_schema(self, ctx: Context, old: Node, new: Node) -> bool:
        """Whether two sub-schemas accept the same instances as far as the engine can tell.

        Equal text is enough without `$ref`s; with them the targets may differ, so the two
        must also compare without a single difference either way.
        """
        if canonical(old.value) != canonical(new.value):
            return False
        if "$ref" not in canonical(old.value):
            return True
        for first, second in ((old, new), (new, old)):
            trial = ctx.sub()
            self.compare(trial, self.side(first, ""), self.side(second, ""))
            if trial.diffs:
                return False
        return True

    # -- scalar schemas ------------------------------------------------------------------------

    def compare_bound(self, ctx: Context, old: Side, new: Side, keyword: str, prefix: str) -> None:
        """A numeric bound: added, removed, increased or decreased (Confluent's NAME_CHANGE)."""
        before = _number(old.shape.node.keywords.get(keyword))
        after = _number(new.shape.node.keywords.get(keyword))
        if before == after:
            return
        if before is None:
            change = "ADDED"
        elif after is None:
            change = "REMOVED"
        else:
            change = "INCREASED" if after > before else "DECREASED"
        ctx.add_at(f"{prefix}_{change}", old, new, keyword)

    def _compare_string(self, ctx: Context, old: Side, new: Side) -> None:
        self.compare_bound(ctx, old, new, "maxLength", "MAX_LENGTH")
        self.compare_bound(ctx, old, new, "minLength", "MIN_LENGTH")
        before = old.shape.node.keywords.get("pattern")
        after = new.shape.node.keywords.get("pattern")
        if before is None and after is not None:
            ctx.add_at("PATTERN_ADDED", old, new, "pattern")
        elif before is not None and after is None:
            ctx.add_at("PATTERN_REMOVED", old, new, "pattern")
        elif before != after:
            ctx.add_at("PATTERN_CHANGED", old, new, "pattern")

    def _compare_number(self, ctx: Context, old: Side, new: Side) -> None:
        self.compare_bound(ctx, old, new, "maximum", "MAXIMUM")
        self.compare_bound(ctx, old, new, "minimum", "MINIMUM")
        self.compare_bound(ctx, old, new, "exclusiveMaximum", "EXCLUSIVE_MAXIMUM")
        self.compare_bound(ctx, old, new, "exclusiveMinimum", "EXCLUSIVE_MINIMUM")
        before = _number(old.shape.node.keywords.get("multipleOf"))
        after = _number(new.shape.node.keywords.get("multipleOf"))
        if before != after:
            if before is None:
                type_ = "MULTIPLE_OF_ADDED"
            elif after is None:
                type_ = "MULTIPLE_OF_REMOVED"
            elif before and (after / before).denominator == 1:
                type_ = "MULTIPLE_OF_EXPANDED"  # every new multiple was an old one: fewer values
            elif after and (before / after).denominator == 1:
                type_ = "MULTIPLE_OF_REDUCED"  # every old multiple is a new one
            else:
                type_ = "MULTIPLE_OF_CHANGED"
            ctx.add_at(type_, old, new, "multipleOf")
        if old.shape.integer != new.shape.integer:
            ctx.add_at("TYPE_EXTENDED" if old.shape.integer else "TYPE_NARROWED", old, new)

    def _compare_values(self, ctx: Context, old: Side, new: Side) -> None:
        """enum and const: the sets of allowed values (a const is a one-value enum)."""
        old_kw = "enum" if old.shape.kind is Kind.ENUM else "const"
        new_kw = "enum" if new.shape.kind is Kind.ENUM else "const"
        before = _value_set(old.shape.node.keywords.get(old_kw), old_kw)
        after = _value_set(new.shape.node.keywords.get(new_kw), new_kw)
        if before == after:
            return
        if old_kw == new_kw == "const":
            type_ = "ENUM_ARRAY_CHANGED"
        elif after >= before:
            type_ = "ENUM_ARRAY_EXTENDED"
        elif before >= after:
            type_ = "ENUM_ARRAY_NARROWED"
        else:
            type_ = "ENUM_ARRAY_CHANGED"
        ctx.add(
            type_,
            old.at(old_kw),
            new.at(new_kw),
            old.keyword_location(old_kw),
            new.keyword_location(new_kw),
        )

    # -- combinators -----------------------------------------------------------------------------

    def _compare_combined(self, ctx: Context, old: Side, new: Side) -> None:
        o, n = old.shape, new.shape
        criterion_change = _criterion_change(o, n)
        if criterion_change is not None:
            ctx.add_at(criterion_change, old, new)
            if criterion_change == "COMBINED_TYPE_CHANGED":
                return
        old_subs = _distinct(o.subs)
        new_subs = _distinct(n.subs)
        # Gaining members is judged by the update's combinator, losing them by the original's:
        # an allOf that lost members constrains less whatever it became.
        if len(old_subs) < len(new_subs):
            product = n.criterion == "allOf"
            ctx.add_at("PRODUCT_TYPE_EXTENDED" if product else "SUM_TYPE_EXTENDED", old, new)
        elif len(old_subs) > len(new_subs):
            product = o.criterion == "allOf"
            ctx.add_at("PRODUCT_TYPE_NARROWED" if product else "SUM_TYPE_NARROWED", old, new)

        aligned = _aligned(old_subs, new_subs) if o.criterion == n.criterion else None
        if aligned is not None:
            for old_member, new_member in aligned:
                self.compare(ctx, self._sub_side(old, old_member), self._sub_side(new, new_member))
            return

        # Every compatible (old member, new member) pair is an edge; a maximum matching must
        # cover the smaller side, else some member lost its counterpart.
        edges: dict[int, list[tuple[int, Context]]] = {}
        for i, old_member in enumerate(old_subs):
            old_sub = self._sub_side(old, old_member)
            for j, new_member in enumerate(new_subs):
                trial = ctx.sub()
                self.compare(trial, old_sub, self._sub_side(new, new_member))
                if trial.is_compatible():
                    edges.setdefault(i, []).append((j, trial))
            edges.get(i, []).sort(key=lambda edge: (len(edge[1].diffs), edge[0]))
        matching = _maximum_matching(len(old_subs), edges)
        for i in sorted(matching):
            ctx.extend(matching[i])
        if len(matching) < min(len(old_subs), len(new_subs)):
            ctx.add_at("COMBINED_TYPE_SUBSCHEMAS_CHANGED", old, new)

    def _compare_not(self, ctx: Context, old: Side, new: Side) -> None:
        """`not` reverses direction: the update may exclude less, never more."""
        old_not = self.side_of(old.shape.node.child("not"), old.at("not"))
        new_not = self.side_of(new.shape.node.child("not"), new.at("not"))
        trial = ctx.sub()
        self.compare(trial, new_not, old_not)
        type_ = "NOT_TYPE_NARROWED" if trial.is_compatible() else "NOT_TYPE_EXTENDED"
        ctx.add_at(type_, old, new, "not")


def _report(
    ctx: Context,
    old: Side,
    new: Side,
    old_kw: Mapping[str, tuple[Any, Node]],
    new_kw: Mapping[str, tuple[Any, Node]],
    type_: str,
    keyword: str,
    *,
    at_keyword: bool = True,
) -> None:
    """A difference about `keyword`, located where each side's effective value is written."""
    tokens = (keyword,) if at_keyword else ()
    ctx.add(
        type_,
        old.at(*tokens),
        new.at(*tokens),
        _locate(old_kw[keyword][1], keyword) if keyword in old_kw else None,
        _locate(new_kw[keyword][1], keyword) if keyword in new_kw else None,
    )


def _effective_keywords(shape: Shape) -> dict[str, tuple[Any, Node]]:
    """Keywords along the metadata chain, the outermost (referring) node winning."""
    merged: dict[str, tuple[Any, Node]] = {}
    for node in reversed((shape.node, *shape.meta)):
        for keyword, value in node.keywords.items():
            if keyword != "$schema":  # a document's dialect, compared once at the roots
                merged[keyword] = (value, node)
    return merged


def _differs(
    old: Mapping[str, tuple[Any, Node]], new: Mapping[str, tuple[Any, Node]], keyword: str
) -> bool:
    if (keyword in old) != (keyword in new):
        return True
    if keyword not in old:
        return False
    return canonical(old[keyword][0]) != canonical(new[keyword][0])


def _value_set(value: Any, keyword: str) -> frozenset[str]:
    values = value if keyword == "enum" and isinstance(value, list) else [value]
    return frozenset(canonical(v) for v in values)


def _criterion_change(old: Shape, new: Shape) -> str | None:
    """Confluent's rules for switching between allOf, anyOf and oneOf."""
    if old.criterion == new.criterion:
        return None
    if new.criterion == "anyOf":
        return "COMBINED_TYPE_EXTENDED"
    if new.criterion == "oneOf":
        # A single alternative is matched exactly once by whatever matched a one-member
        # combinator, or by whatever matched every member of an allOf.
        relaxed = len(old.subs) == 1 or (old.criterion == "allOf" and len(new.subs) == 1)
        return "COMBINED_TYPE_EXTENDED" if relaxed else "COMBINED_TYPE_CHANGED"
    if len(old.subs) == 1 and len(new.subs) == 1:
        return "COMBINED_TYPE_EXTENDED"
    return "COMBINED_TYPE_CHANGED"


def _aligned(old: Sequence[Sub], new: Sequence[Sub]) -> list[tuple[Sub, Sub]] | None:
    """Members of two synthetic combinations (type lists, `$ref` plus siblings, mixed kinds).

    Those members are the same kind of schema cut from one node, so they pair up by kind and
    every difference between a pair is worth reporting; trial matching would hide a tightened
    `maxLength` of a nullable string behind COMBINED_TYPE_SUBSCHEMAS_CHANGED.
    """
    if any(sub.tokens for sub in (*old, *new)):
        return None
    old_by_id = {sub.identity: sub for sub in old}
    new_by_id = {sub.identity: sub for sub in new}
    if not (old_by_id.keys() <= new_by_id.keys() or new_by_id.keys() <= old_by_id.keys()):
        return None
    return [(old_by_id[i], new_by_id[i]) for i in old_by_id if i in new_by_id]


def _distinct(subs: Sequence[Sub]) -> list[Sub]:
    """Members with duplicates collapsed, as Confluent compares sets of sub-schemas."""
    first: dict[str, Sub] = {}
    for sub in subs:
        first.setdefault(sub.identity, sub)
    return list(first.values())


def _maximum_matching(
    left: int, edges: Mapping[int, list[tuple[int, Context]]]
) -> dict[int, Context]:
    """Maximum bipartite matching (augmenting paths); returns left index -> the edge's findings."""
    owner: dict[int, int] = {}  # right -> left
    chosen: dict[int, Context] = {}

    def augment(i: int, seen: set[int]) -> bool:
        for j, found in edges.get(i, []):
            if j in seen:
                continue
            seen.add(j)
            if j not in owner or augment(owner[j], seen):
                owner[j] = i
                chosen[i] = found
                return True
        return False

    for i in range(left):
        augment(i, set())
    return {i: chosen[i] for i in set(owner.values())}


def diff_schemas(
    original: SchemaSet, update: SchemaSet, policy: Policy = Policy.STRICT
) -> list[Difference]:
    """Every difference between `original` (the writer) and `update` (the reader).

    `policy` only steers Confluent's internal trial comparisons (which alternative of a oneOf
    an old schema matches); the compatibility of each reported type is `is_compatible`'s call.
    """
    return Engine(original, update, policy).run()
