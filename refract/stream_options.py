"""The stream and log-level flags that `refract serve` (writes the streams) and
`refract pipeline run` (reads them) share: one definition, so both always name, document and
resolve the streams the same way (flags over REFRACT_* variables, as Settings does)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import click

if TYPE_CHECKING:
    from registry_service.settings import Settings

F = TypeVar("F", bound=Callable[..., Any])

_STREAM_OPTIONS = (
    click.option(
        "--stream",
        type=click.Choice(["local", "kinesis"]),
        default=None,
        help="Local segment files or Kinesis, for events and dead letters "
        "(REFRACT_STREAM, default local).",
    ),
    click.option(
        "--kinesis-stream",
        default=None,
        help="Kinesis events stream; dead letters go to <name>-dead-letters "
        "(REFRACT_KINESIS_STREAM).",
    ),
    click.option(
        "--kinesis-dead-letter-stream",
        default=None,
        help="Kinesis dead-letter stream (REFRACT_KINESIS_DEAD_LETTER_STREAM).",
    ),
    click.option("--kinesis-region", default=None, help="Kinesis region (REFRACT_KINESIS_REGION)."),
    click.option(
        "--kinesis-endpoint",
        default=None,
        help="Kinesis endpoint URL, e.g. kinesis-local's (REFRACT_KINESIS_ENDPOINT).",
    ),
    click.option(
        "--log-level",
        type=click.Choice(["debug", "info", "warning", "error"]),
        default="info",
        show_default=True,
    ),
)

STREAM_PARAMETERS = (
    "stream",
    "kinesis_stream",
    "kinesis_dead_letter_stream",
    "kinesis_region",
    "kinesis_endpoint",
)
"""The keyword arguments the stream options give a command (besides log_level)."""


def stream_options(command: F) -> F:
    """Add --stream, --kinesis-* and --log-level to a click command."""
    for option in reversed(_STREAM_OPTIONS):
        command = option(command)
    return command


def resolve_settings(**overrides: Any) -> Settings:
    """Settings from the environment with the given flags over them, checked; a bad
    combination is a click usage error (one line, exit 2). Imported here, not at module level,
    so commands that never resolve settings do not pay for it at start-up."""
    from registry_service.settings import Settings, SettingsError

    try:
        settings = Settings.from_env().with_overrides(**overrides)
        settings.check()
    except SettingsError as exc:
        raise click.UsageError(str(exc)) from None
    return settings
