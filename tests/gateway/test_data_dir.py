"""The data directory: private modes, and a clear error when it cannot be written (issue 10).

Before: stream segments, registry.db and warehouse.duckdb were 0644 under 0755 directories
(dead letters hold raw e-mail and IP addresses by design), and a read-only data directory
stopped `refract serve` with "internal error: OperationalError: attempt to write a readonly
database", naming neither the path nor the fix.
"""

from __future__ import annotations

import contextlib
import os
import stat
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from pipeline.loader.warehouse import DuckDBWarehouse
from registry_service.app import create_app
from registry_service.registry.sqlite_store import SqliteStore, StoreNotWritable
from registry_service.settings import Settings


@pytest.fixture
def usual_umask() -> Iterator[None]:
    previous = os.umask(0o022)  # what a shell gives: the old code's files came out 0644
    yield
    os.umask(previous)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_an_installation_creates_only_private_files(tmp_path: Path, usual_umask: None) -> None:
    data = tmp_path / "data"
    close(create_app(Settings(data_dir=data)))  # no PII key: pii.key is created too
    found = sorted(p.relative_to(data).as_posix() for p in data.rglob("*"))
    assert "registry.db" in found and "pii.key" in found
    assert any(name.endswith(".seg") for name in found)
    assert mode(data) == 0o700
    for path in data.rglob("*"):
        expected = 0o700 if path.is_dir() else 0o600
        assert mode(path) == expected, (path.relative_to(data), oct(mode(path)))


def close(app: Any) -> None:
    app.state.gateway.events_sink.close()
    app.state.gateway.dead_letter_sink.close()
    app.state.registry.store.close()


def test_an_existing_installation_is_tightened(tmp_path: Path, usual_umask: None) -> None:
    data = tmp_path / "data"
    close(create_app(Settings(data_dir=data)))
    for path in [data, *data.rglob("*")]:
        os.chmod(path, 0o755 if path.is_dir() else 0o644)
    close(create_app(Settings(data_dir=data)))
    assert mode(data) == 0o700
    assert mode(data / "registry.db") == 0o600
    assert mode(data / "streams" / "events") == 0o700


def test_the_warehouse_file_is_private(tmp_path: Path, usual_umask: None) -> None:
    path = tmp_path / "lake" / "warehouse.duckdb"
    warehouse = DuckDBWarehouse(path)
    warehouse.ensure_raw()
    assert mode(path) == 0o600 and mode(path.parent) == 0o700
    wal = path.with_name(path.name + ".wal")
    if wal.exists():
        assert mode(wal) == 0o600
    warehouse.close()


@contextlib.contextmanager
def read_only_directory(path: Path) -> Iterator[Path]:
    """A directory this process cannot write: mode 0555 for a normal user; for root (who
    writes through any mode) a read-only tmpfs mounted on it, a real EROFS."""
    path.mkdir()
    if os.geteuid() != 0:
        os.chmod(path, 0o555)
        try:
            yield path
        finally:
            os.chmod(path, 0o755)
        return
    subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=64k", "tmpfs", str(path)], check=True)
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=True)


def test_serve_on_a_read_only_data_dir_names_the_path_and_the_fix(tmp_path: Path) -> None:
    with read_only_directory(tmp_path / "data") as data:
        refract = Path(sys.executable).with_name("refract")
        env = {**os.environ, "REFRACT_DATA_DIR": str(data)}
        env.pop("REFRACT_DEBUG", None)
        result = subprocess.run(
            [str(refract), "serve", "--port", "0"],
            capture_output=True,
            text=True,
            timeout=120,
            env=env,
            cwd=tmp_path,
        )
    assert result.returncode != 0
    error = result.stderr
    assert "internal error" not in error, error
    assert str(data) in error, error
    assert "writable" in error and "REFRACT_DATA_DIR" in error, error


def test_a_read_only_stream_directory_is_named_too(tmp_path: Path) -> None:
    from pipeline.streams.base import SinkError
    from pipeline.streams.local import LocalStream

    with read_only_directory(tmp_path / "events") as directory, pytest.raises(SinkError) as refused:
        LocalStream(directory)
    assert str(directory) in str(refused.value) and "writable" in str(refused.value)


@contextlib.contextmanager
def turns_read_only(path: Path) -> Iterator[Callable[[], None]]:
    """A writable directory, and the switch that makes it read-only later (0555/0444 for a
    normal user; for root a tmpfs remounted read-only: a real EROFS)."""
    path.mkdir()
    if os.geteuid() != 0:

        def switch() -> None:
            for item in [*path.rglob("*"), path]:
                os.chmod(item, 0o555 if item.is_dir() else 0o444)

        try:
            yield switch
        finally:
            for item in [path, *path.rglob("*")]:
                os.chmod(item, 0o755 if item.is_dir() else 0o644)
        return
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(path)], check=True)
    try:
        yield lambda: subprocess.run(["mount", "-o", "remount,ro", str(path)], check=True)
    finally:
        subprocess.run(["umount", "-l", str(path)], check=True)


def test_a_registry_write_on_a_database_turned_read_only_names_it(tmp_path: Path) -> None:
    """At request time (a remount after start): a RegistryError the routes answer with 503 and
    Confluent's body, naming the file, instead of a bare OperationalError (a 500)."""
    with turns_read_only(tmp_path / "data") as switch:
        path = tmp_path / "data" / "registry.db"
        store = SqliteStore(path)
        store.close()  # no file open for writing: the remount is allowed
        switch()
        raised: list[BaseException] = []

        def write() -> None:  # a fresh thread: a fresh connection, as a new worker gets
            try:
                with store.write() as tx:
                    tx.cursor.execute("CREATE TABLE probe (x INTEGER)")
            except BaseException as exc:
                raised.append(exc)

        worker = threading.Thread(target=write)
        worker.start()
        worker.join(30)
        store.close()
    [error] = raised
    assert isinstance(error, StoreNotWritable), repr(error)
    assert error.status == 503 and error.error_code == 50301
    assert str(path) in error.message and "writable" in error.message
