"""Compile lenses into plain Python upcasters (and, for reversible lenses, downcasters).

The gateway upgrades every legacy event it receives, so upcasting must cost microseconds:
the generated functions contain no lens interpretation at run time, only the dictionary
operations each lens step means, with the field names and defaults inlined as literals.
Semantics are exactly those of the reference interpreter `compat.lens.apply` (tests compare
the two on generated instances), with two differences that do not change results:

- Only containers that change are copied (the interpreter deep-copies the whole event).
  Each object the function modifies is copied once; a boolean per host field remembers
  whether the current value is already the function's own copy.
- Failures raise `refract_sdk.errors.UpcastError` naming the event, the version being
  translated, the JSON pointer of the field, and the reason.

Within one major, stepping to the newest minor only restamps `schema` (the newest minor of a
major reads every earlier one of it, by the compatibility rule).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from codegen.names import header, version_tag
from compat.catalogue import Catalogue, Event, EventVersion
from compat.lens import (
    Add,
    Convert,
    Head,
    Hoist,
    In,
    Lens,
    Map,
    Op,
    Plunge,
    Remove,
    Rename,
    Wrap,
    check_lens_placement,
    invert,
    load_lens,
)
from compat.source import InvalidInput, display_path, pointer_escape
from compat.versions import Version

_PRELUDE = '''
from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from refract_sdk.errors import UpcastError

Step = Callable[[dict[str, Any]], dict[str, Any]]
"""One translation step: takes an event dict, returns a new one (the input is not mutated)."""

_MISSING: Any = object()
_COLLISION = "field already present; a lens never overwrites a value"

def _error(event: str, version: str, field: str, reason: str) -> UpcastError:
    return UpcastError(event, version, field, reason)


def _json_type(value: Any) -> str:
    """The JSON name of a value's type, for error messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def _key(value: Any) -> Any:
    """A hashable key with JSON equality: 1 equals 1.0, but true is not 1."""
    if isinstance(value, bool):
        return (bool, value)
    if isinstance(value, int | float):
        return (float, value)
    if isinstance(value, list):
        return (list, tuple(_key(item) for item in value))
    if isinstance(value, dict):
        return (dict, frozenset((k, _key(v)) for k, v in value.items()))
    return value


def _fresh(value: Any) -> Any:
    """A value from a lens mapping, copied when mutable so callers never share it."""
    return copy.deepcopy(value) if isinstance(value, list | dict) else value
'''


@dataclass
class _Scope:
    """One object being translated: its variable, JSON pointer parts and ownership flags."""

    var: str
    path: tuple[str, ...]  # literal pointer text and "{var}" placeholders for loop indexes
    flags: dict[str, str] = field(default_factory=dict)  # field name -> bool variable

    def pointer(self, *names: str) -> str:
        """A Python expression for the JSON pointer of `names` below this object."""
        parts = [*self.path, *("/" + pointer_escape(n) for n in names)]
        if all(not p.startswith("{") for p in parts):
            return repr("".join(parts))
        text = "".join(
            p if p.startswith("{") else p.replace("{", "{{").replace("}", "}}") for p in parts
        )
        return "f" + repr(text)


class _Compiler:
    """Emits the body of one step function for a sequence of lens operations."""

    def __init__(self, event: str, version: str, module: _Module) -> None:
        self.event = event
        self.version = version
        self.module = module
        self.lines: list[str] = []
        self.depth = 0
        self.counter = 0

    def fresh(self, stem: str) -> str:
        self.counter += 1
        return f"{stem}_{self.counter}"

    def emit(self, line: str) -> None:
        self.lines.append("    " * self.depth + line)

    def error(self, pointer: str, reason: str) -> None:
        """Emit a raise; `reason` is a Python expression."""
        self.emit(f"raise _error({self.event!r}, {self.version!r}, {pointer}, {reason})")

    def block(self, header_line: str) -> _Indent:
        self.emit(header_line)
        return _Indent(self)

    def operations(self, ops: Sequence[Op], scope: _Scope) -> None:
        for name in sorted(_owned_names(ops)):
            scope.flags[name] = self.fresh("own")
            self.emit(f"{scope.flags[name]} = False")
        for op in ops:
            self.emit(f"# {_describe(op)}")
            self.operation(op, scope)

    def set_flag(self, scope: _Scope, name: str, value: str) -> None:
        flag = scope.flags.get(name)
        if flag is not None:
            self.emit(f"{flag} = {value}")

    def own(self, scope: _Scope, name: str, var: str) -> None:
        """Make `var` (the dict at scope[name]) this function's own copy, once."""
        flag = scope.flags[name]
        with self.block(f"if not {flag}:"):
            self.emit(f"{var} = {scope.var}[{name!r}] = dict({var})")
            self.emit(f"{flag} = True")

    def operation(self, op: Op, scope: _Scope) -> None:
        obj = scope.var
        if isinstance(op, Rename):
            with self.block(f"if {op.source!r} in {obj}:"):
                with self.block(f"if {op.target!r} in {obj}:"):
                    self.error(scope.pointer(op.target), "_COLLISION")
                self.emit(f"{obj}[{op.target!r}] = {obj}.pop({op.source!r})")
                source_flag = scope.flags.get(op.source)
                self.set_flag(scope, op.target, source_flag or "False")
        elif isinstance(op, Hoist):
            host = self.fresh("host")
            self.emit(f"{host} = {obj}.get({op.host!r})")
            with self.block(f"if isinstance({host}, dict) and {op.name!r} in {host}:"):
                with self.block(f"if {op.name!r} in {obj}:"):
                    self.error(scope.pointer(op.name), "_COLLISION")
                self.own(scope, op.host, host)
                self.emit(f"{obj}[{op.name!r}] = {host}.pop({op.name!r})")
                self.set_flag(scope, op.name, "False")
                with self.block(f"if not {host}:"):
                    self.emit(f"del {obj}[{op.host!r}]")
            with self.block(f"elif {host} is not None and not isinstance({host}, dict):"):
                reason = (
                    f'f"expected an object to hoist {op.name!r} from, found {{_json_type({host})}}"'
                )
                self.error(scope.pointer(op.host), reason)
        elif isinstance(op, Plunge):
            host = self.fresh("host")
            with self.block(f"if {op.name!r} in {obj}:"):
                self.emit(f"{host} = {obj}.get({op.host!r}, _MISSING)")
                with self.block(f"if {host} is _MISSING:"):
                    self.emit(f"{obj}[{op.host!r}] = {{{op.name!r}: {obj}.pop({op.name!r})}}")
                    self.set_flag(scope, op.host, "True")
                with self.block(f"elif isinstance({host}, dict):"):
                    with self.block(f"if {op.name!r} in {host}:"):
                        self.error(scope.pointer(op.host, op.name), "_COLLISION")
                    self.own(scope, op.host, host)
                    self.emit(f"{host}[{op.name!r}] = {obj}.pop({op.name!r})")
                with self.block("else:"):
                    reason = f'f"expected an object to move {op.name!r} into, found {{_json_type({host})}}"'
                    self.error(scope.pointer(op.host), reason)
        elif isinstance(op, Wrap):
            with self.block(f"if {op.name!r} in {obj}:"):
                self.emit(f"{obj}[{op.name!r}] = [{obj}[{op.name!r}]]")
                self.set_flag(scope, op.name, "False")
        elif isinstance(op, Head):
            value = self.fresh("value")
            with self.block(f"if {op.name!r} in {obj}:"):
                self.emit(f"{value} = {obj}[{op.name!r}]")
                with self.block(f"if not isinstance({value}, list):"):
                    reason = f'f"expected an array, found {{_json_type({value})}}"'
                    self.error(scope.pointer(op.name), reason)
                with self.block(f"if {value}:"):
                    self.emit(f"{obj}[{op.name!r}] = {value}[0]")
                with self.block("else:"):
                    self.emit(f"del {obj}[{op.name!r}]")
                self.set_flag(scope, op.name, "False")
        elif isinstance(op, Convert):
            self.convert(op, scope)
        elif isinstance(op, Add):
            with self.block(f"if {op.name!r} not in {obj}:"):
                self.emit(f"{obj}[{op.name!r}] = {op.default!r}")
                self.set_flag(scope, op.name, "True")
        elif isinstance(op, Remove):
            self.emit(f"{obj}.pop({op.name!r}, None)")
        elif isinstance(op, In):
            inner = self.fresh("inner")
            self.emit(f"{inner} = {obj}.get({op.name!r})")
            with self.block(f"if isinstance({inner}, dict):"):
                self.own(scope, op.name, inner)
                self.operations(
                    op.operations, _Scope(inner, (*scope.path, "/" + pointer_escape(op.name)))
                )
            with self.block(f"elif {inner} is not None:"):
                reason = f'f"expected an object, found {{_json_type({inner})}}"'
                self.error(scope.pointer(op.name), reason)
        elif isinstance(op, Map):
            self.map(op, scope)

    def convert(self, op: Convert, scope: _Scope) -> None:
        obj = scope.var
        table = self.module.convert_table(op)
        found = self.fresh("found")
        with self.block(f"if {op.name!r} in {obj}:"):
            self.emit(f"{found} = {table}.get(_key({obj}[{op.name!r}]), _MISSING)")
            with self.block(f"if {found} is _MISSING:"):
                if op.has_default:
                    self.emit(f"{obj}[{op.name!r}] = {op.default!r}")
                else:
                    reason = f'f"value {{{obj}[{op.name!r}]!r}} has no mapping and the convert has no default"'
                    self.error(scope.pointer(op.name), reason)
            with self.block("else:"):
                self.emit(f"{obj}[{op.name!r}] = _fresh({found})")
            self.set_flag(scope, op.name, "True")

    def map(self, op: Map, scope: _Scope) -> None:
        obj = scope.var
        items, index, item, element, result = (
            self.fresh(s) for s in ("items", "index", "item", "element", "elements")
        )
        self.emit(f"{items} = {obj}.get({op.name!r})")
        with self.block(f"if isinstance({items}, list):"):
            self.emit(f"{result}: list[Any] = []")
            with self.block(f"for {index}, {item} in enumerate({items}):"):
                element_path = (*scope.path, "/" + pointer_escape(op.name), "/", f"{{{index}}}")
                with self.block(f"if not isinstance({item}, dict):"):
                    reason = f'f"expected an object element, found {{_json_type({item})}}"'
                    self.error(_Scope(item, element_path).pointer(), reason)
                self.emit(f"{element} = dict({item})")
                self.operations(op.operations, _Scope(element, element_path))
                self.emit(f"{result}.append({element})")
            self.emit(f"{obj}[{op.name!r}] = {result}")
            self.set_flag(scope, op.name, "False")
        with self.block(f"elif {items} is not None:"):
            reason = f'f"expected an array, found {{_json_type({items})}}"'
            self.error(scope.pointer(op.name), reason)


class _Indent:
    def __init__(self, compiler: _Compiler) -> None:
        self.compiler = compiler

    def __enter__(self) -> None:
        self.compiler.depth += 1

    def __exit__(self, *exc: object) -> None:
        self.compiler.depth -= 1


def _owned_names(ops: Sequence[Op]) -> set[str]:
    """Fields of one object that ops modify in place (hosts, `in` targets): they need flags."""
    names: set[str] = set()
    for op in ops:
        if isinstance(op, Hoist | Plunge):
            names.add(op.host)
        elif isinstance(op, In):
            names.add(op.name)
    return names


def _describe(op: Op) -> str:
    data = op.to_json()
    data.pop("operations", None)
    kind = data.pop("op")
    return f"{kind} " + ", ".join(f"{k}={v!r}" for k, v in data.items())


@dataclass
class _Module:
    """The generated module: module-level tables plus the function texts, in order."""

    tables: list[str] = field(default_factory=list)
    functions: list[str] = field(default_factory=list)

    def convert_table(self, op: Convert) -> str:
        name = f"_CONVERT_{len(self.tables) + 1}"
        pairs = ", ".join(f"({source!r}, {target!r})" for source, target in op.mapping)
        self.tables.append(
            f"# convert {op.name!r}: JSON-equality lookup built once, at import\n"
            f"{name}: dict[Any, Any] = {{_key(k): v for k, v in ({pairs},)}}\n"
        )
        return name


@dataclass(frozen=True)
class _Step:
    function: str
    source: str
    target: str


def _restamp_step(module: _Module, older: EventVersion, newest: EventVersion) -> _Step:
    name = f"upcast_{older.event}_{version_tag(older.version)}_to_{version_tag(newest.version)}"
    module.functions.append(
        f"def {name}(payload: dict[str, Any]) -> dict[str, Any]:\n"
        f'    """{older.ref} -> {newest.ref}: same major, so only `schema` changes."""\n'
        "    result = dict(payload)\n"
        f"    result['schema'] = {newest.ref!r}\n"
        "    return result\n"
    )
    return _Step(name, older.ref, newest.ref)


def _lens_step(module: _Module, name: str, lens: Lens, source_file: str) -> _Step:
    event, version = lens.source.split("/", 1)
    compiler = _Compiler(event, version, module)
    compiler.depth = 1
    compiler.emit("obj = dict(payload)")
    compiler.operations(lens.operations, _Scope("obj", ()))
    compiler.emit(f"obj['schema'] = {lens.target!r}")
    compiler.emit("return obj")
    module.functions.append(
        f"def {name}(payload: dict[str, Any]) -> dict[str, Any]:\n"
        f'    """{lens.source} -> {lens.target}, compiled from {source_file}."""\n'
        + "\n".join(compiler.lines)
        + "\n"
    )
    return _Step(name, lens.source, lens.target)


@dataclass
class _EventSteps:
    chains: dict[str, list[str]]
    downcasters: dict[tuple[int, int], str]


def _event_steps(module: _Module, event: Event, contracts_root: Path) -> _EventSteps:
    """Compile the steps of one event and, per version, the chain to its newest version.

    A version that is not the newest of its major first restamps to that newest minor; the
    newest of a major goes through the lens into the next major; repeat until the newest.
    """
    versions = [v.version for v in event.versions]
    restamps: dict[str, _Step] = {}
    lenses: dict[int, _Step] = {}
    downcasters: dict[tuple[int, int], str] = {}
    majors = event.majors()
    for major, following in itertools.pairwise(majors):
        newest = event.newest_of_major(major)
        path = event.lenses.get((major, following))
        if path is None or newest is None:
            raise InvalidInput(
                f"{display_path(event.directory)}: major {following} has no lens "
                f"lenses/{major}-to-{following}.json to upcast {event.name}/{major}.x"
            )
        lens = load_lens(path)
        problems = check_lens_placement(lens, event.name, versions, (major, following))
        if problems:
            raise InvalidInput(f"{display_path(path)}: {problems[0]}")
        source_file = _relative(path, contracts_root)
        name = f"upcast_{event.name}_{major}_to_{following}"
        lenses[major] = _lens_step(module, name, lens, source_file)
        if lens.reversible:
            back = f"downcast_{event.name}_{following}_to_{major}"
            downcasters[(following, major)] = _lens_step(
                module, back, invert(lens), source_file
            ).function
    chains: dict[str, list[str]] = {}
    latest = event.versions[-1].version
    for start in event.versions:
        chain: list[str] = []
        current = start
        while current.version != latest:
            newest = event.newest_of_major(current.version.major)
            assert newest is not None  # `current` itself is in that major
            if current.version != newest.version:
                key = str(current.version)
                if key not in restamps:
                    restamps[key] = _restamp_step(module, current, newest)
                chain.append(restamps[key].function)
                current = newest
                continue
            step = lenses[current.version.major]
            chain.append(step.function)
            _, target = step.target.split("/", 1)
            reached = event.get(Version.parse(target))
            assert reached is not None  # check_lens_placement: the target version exists
            current = reached
        chains[str(start.version)] = chain
    return _EventSteps(chains, downcasters)


def _relative(path: Path, root: Path) -> str:
    return f"contracts/{path.resolve().relative_to(root.resolve()).as_posix()}"


def render_upcasters(catalogue: Catalogue) -> str:
    """The source of refract_sdk/_upcasters.py for every event of `catalogue` (unformatted)."""
    module = _Module()
    steps = {
        name: _event_steps(module, event, catalogue.root)
        for name, event in sorted(catalogue.events.items())
    }
    chains = "\n".join(_chain_lines(steps))
    downcasters = "\n".join(_downcaster_lines(steps))
    return (
        header("contracts/events/*/lenses")
        + '"""Compiled upcasters: one plain function per translation step, no lens interpretation.\n\n'
        + "Use `refract_sdk.upcast`; the tables below are what it runs. Generated by\n"
        + "`refract codegen` (codegen/upcasters.py) from the contracts' lenses.\n"
        + '"""\n'
        + _PRELUDE
        + "\n\n"
        + "\n\n".join(module.tables)
        + "\n\n"
        + "\n\n".join(module.functions)
        + "\n\n# event -> version -> the steps that take it to the event's newest version, in order\n"
        + "UPCAST_CHAINS: dict[str, dict[str, tuple[Step, ...]]] = {\n"
        + chains
        + "\n}\n\n"
        + "# event -> (from major, to major) -> compiled inverse lens, for reversible lenses\n"
        + "DOWNCASTERS: dict[str, dict[tuple[int, int], Step]] = {\n"
        + downcasters
        + "\n}\n"
    )


def _chain_lines(steps: dict[str, _EventSteps]) -> Iterator[str]:
    for name, event_steps in steps.items():
        yield f"    {name!r}: {{"
        for version, functions in event_steps.chains.items():
            yield f"        {version!r}: ({''.join(f + ', ' for f in functions)}),"
        yield "    },"


def _downcaster_lines(steps: dict[str, _EventSteps]) -> Iterator[str]:
    for name, event_steps in steps.items():
        if event_steps.downcasters:
            entries = ", ".join(
                f"{key!r}: {fn}" for key, fn in sorted(event_steps.downcasters.items())
            )
            yield f"    {name!r}: {{{entries}}},"
