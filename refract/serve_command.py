"""`refract serve`: run the registry and ingestion gateway with uvicorn.

Registered on the `refract` group in refract/cli.py. Embedded defaults need nothing else
installed: a SQLite registry and local streams under --data-dir (default ./.refract), port
8080. Production settings (PostgreSQL DSN, Kinesis streams, admin token, CORS origins, PII
key, size limits) come from REFRACT_* environment variables (registry_service/settings.py,
docs/gateway.md); flags win over the environment.
"""

from __future__ import annotations

from pathlib import Path

import click


@click.command("serve")
@click.option("--host", default=None, help="Interface to bind (REFRACT_HOST, default 127.0.0.1).")
@click.option(
    "--port", type=click.IntRange(0, 65535), default=None, help="Port (REFRACT_PORT, default 8080)."
)
@click.option(
    "--data-dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Embedded registry and local streams (REFRACT_DATA_DIR, default ./.refract).",
)
@click.option(
    "--log-level",
    type=click.Choice(["debug", "info", "warning", "error"]),
    default="info",
    show_default=True,
)
def serve_command(host: str | None, port: int | None, data_dir: Path | None, log_level: str) -> int:
    """Serve the registry API, the ingestion gateway and the adapters (OpenAPI at /docs)."""
    import uvicorn

    from registry_service.app import create_app
    from registry_service.gateway.logs import configure_logging, uvicorn_log_config
    from registry_service.settings import Settings, SettingsError

    try:
        settings = Settings.from_env().with_overrides(host=host, port=port, data_dir=data_dir)
        settings.check()
    except SettingsError as exc:
        raise click.UsageError(str(exc)) from None
    configure_logging(log_level)
    app = create_app(settings)
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_config=uvicorn_log_config(log_level),
        access_log=False,  # the request log (registry_service/gateway/logs.py) has no client IPs
        server_header=False,
    )
    return 0
