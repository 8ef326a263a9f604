"""`refract serve`: run the registry and ingestion gateway with uvicorn.

Registered on the `refract` group in refract/cli.py. Embedded defaults need nothing else
installed: a SQLite registry and local streams under --data-dir (default ./.refract), port
8080. Production settings (PostgreSQL DSN, Kinesis streams, admin token, CORS origins, PII
key, size limits) come from REFRACT_* environment variables (registry_service/settings.py,
docs/gateway.md); the registry DSN and the stream settings have flags too, and flags win over
the environment. Secrets (admin token, PII key) have no flags: command lines are visible to
every user of the machine.
"""

from __future__ import annotations

from pathlib import Path

import click

from refract.stream_options import resolve_settings, stream_options


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
    "--registry-dsn",
    default=None,
    help="PostgreSQL DSN of the registry (REFRACT_REGISTRY_DSN; default: SQLite in --data-dir).",
)
@click.option(
    "--registry-read-auth/--no-registry-read-auth",
    "read_auth",
    default=None,
    help="Registry reads and compatibility checks need a token (the admin token or a write "
    "key), as in Confluent deployments with authentication (REFRACT_READ_AUTH; default: open).",
)
@stream_options
def serve_command(
    host: str | None,
    port: int | None,
    data_dir: Path | None,
    registry_dsn: str | None,
    read_auth: bool | None,
    stream: str | None,
    kinesis_stream: str | None,
    kinesis_dead_letter_stream: str | None,
    kinesis_region: str | None,
    kinesis_endpoint: str | None,
    log_level: str,
) -> int:
    """Serve the registry API, the ingestion gateway and the adapters (OpenAPI at /docs)."""
    import uvicorn

    from registry_service.app import create_app
    from registry_service.gateway.logs import configure_logging, uvicorn_log_config

    settings = resolve_settings(
        host=host,
        port=port,
        data_dir=data_dir,
        registry_dsn=registry_dsn,
        read_auth=read_auth,
        stream=stream,
        kinesis_stream=kinesis_stream,
        kinesis_dead_letter_stream=kinesis_dead_letter_stream,
        kinesis_region=kinesis_region,
        kinesis_endpoint=kinesis_endpoint,
    )
    from pipeline.streams.base import SinkError
    from registry_service.registry.sqlite_store import StoreNotWritable

    configure_logging(log_level)
    try:
        app = create_app(settings)
    except (StoreNotWritable, SinkError) as exc:  # the data directory: name it and the fix
        raise click.ClickException(str(exc)) from None
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_config=uvicorn_log_config(log_level),
        access_log=False,  # the request log (registry_service/gateway/logs.py) has no client IPs
        server_header=False,
    )
    return 0
