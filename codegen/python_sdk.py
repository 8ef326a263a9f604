"""The "python-sdk" target: models, catalogue data and upcasters for `refract_sdk`.

Layout under the output directory (default sdk/src/refract_sdk, see docs/codegen.md):

    events/__init__.py              the newest model of every event, by CamelCase name
    events/_base.py                 the construction defaults the models share
    events/<event>/__init__.py      the newest model of the event
    events/<event>/v<M>_<m>_<p>.py  one module per version (class <EventName>)
    _catalogue.py                   LATEST, VERSIONS, DEDUP_KEYS, PII, MODELS
    _upcasters.py                   compiled upcasters and downcasters
"""

from __future__ import annotations

from codegen.format import format_python
from codegen.names import HEADER_PREFIX, class_name, header, version_module
from codegen.python_models import render_version_module
from codegen.sdk_catalogue import render_catalogue
from codegen.upcasters import render_upcasters
from compat.catalogue import Catalogue

_BASE = '''"""Construction defaults shared by every generated event model.

Defaults are functions (not values) so that every instance gets its own id and time.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime


def new_event_id() -> str:
    """A fresh event id: a random UUID (v4) in the contract's lowercase spelling."""
    return str(uuid.uuid4())


def utc_now_ms() -> str:
    """Now, in UTC with millisecond precision: the contract's YYYY-MM-DDTHH:MM:SS.mmmZ."""
    now = datetime.now(UTC)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"
'''


class PythonSdkTarget:
    """Pydantic v2 models, catalogue data and upcasters for the Python SDK."""

    name = "python-sdk"
    default_output = "sdk/src/refract_sdk"
    header_prefix = HEADER_PREFIX
    suffixes = (".py",)

    def render(self, catalogue: Catalogue) -> dict[str, str]:
        files: dict[str, str] = {}
        newest: list[tuple[str, str]] = []  # (event, class) for events/__init__.py
        for event_name, event in sorted(catalogue.events.items()):
            if not event.versions:
                continue
            cls = class_name(event_name)
            for version in event.versions:
                source = (
                    "contracts/"
                    + version.path.resolve().relative_to(catalogue.root.resolve()).as_posix()
                )
                module = version_module(version.version)
                files[f"events/{event_name}/{module}.py"] = render_version_module(version, source)
            latest = event.versions[-1]
            files[f"events/{event_name}/__init__.py"] = format_python(
                header(f"contracts/events/{event_name}")
                + f'"""`{event_name}`: versions '
                + ", ".join(str(v.version) for v in event.versions)
                + f"; `{cls}` is the newest ({latest.version}).\n\n"
                + "Older versions are importable by version, e.g. "
                + f"`from refract_sdk.events.{event_name}.{version_module(event.versions[0].version)}"
                + f' import {cls}`.\n"""\n\n'
                + f"from .{version_module(latest.version)} import {cls}\n\n"
                + f"__all__ = [{cls!r}]\n"
            )
            newest.append((event_name, cls))
        files["events/__init__.py"] = format_python(
            header("contracts/events")
            + '"""The newest model of every event; older versions live in each event\'s package."""\n\n'
            + "".join(f"from .{event} import {cls}\n" for event, cls in newest)
            + f"\n__all__ = {sorted(cls for _, cls in newest)!r}\n"
        )
        files["events/_base.py"] = format_python(header("codegen/python_sdk.py") + _BASE)
        files["_catalogue.py"] = format_python(render_catalogue(catalogue))
        files["_upcasters.py"] = format_python(render_upcasters(catalogue))
        return files
