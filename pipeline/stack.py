"""The whole local stack in one context manager: gateway process, write keys, pipeline runner.

    with LocalStack(data_dir) as stack:
        key = stack.write_key("web", "web-platform")
        ... send events to stack.url with the SDK ...
        stack.wait_until_loaded(timeout=120)   # everything sent is loaded and fully built

Why a subprocess for the gateway: it is what operators run (`refract serve`), it keeps the
gateway's event loop and the runner's dbt builds off each other's GIL, and killing it proves
what a crash would. The runner stays in this process (a background thread) so callers can wait
on its progress directly. Keys are created in the registry database the server uses (SQLite in
the data directory), as `refract keys create` does; the gateway reads keys per request, so keys
made after it started are valid at once.

Shutdown is unconditional (also when the body raises): the runner is stopped, the server gets
SIGTERM (uvicorn drains and exits), then SIGKILL after a grace period. The server runs in its
own session so nothing it might start survives it; a finalizer kills it if the stack is
garbage-collected or the interpreter exits without `close()`.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import weakref
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any

from pipeline.runner import (
    DEFAULT_BUILD_INTERVAL_S,
    DEFAULT_FULL_BUILD_INTERVAL_S,
    PipelineRunner,
    RunnerState,
)
from pipeline.status import LOCAL_STREAMS, next_offset

READY_TIMEOUT_S = 90.0
"""First start loads the repository's contracts into a new registry (several seconds on a
busy 2-core machine)."""
STOP_GRACE_S = 15.0
LOG_TAIL_BYTES = 4000


class StackError(RuntimeError):
    """The local stack could not start (the message carries the server's log tail)."""


class LocalStack:
    """`refract serve` on a free port + write keys + a PipelineRunner in a background thread."""

    def __init__(
        self,
        data_dir: Path,
        port: int = 0,
        *,
        host: str = "127.0.0.1",
        load_interval: float = 2.0,
        build_interval: float = DEFAULT_BUILD_INTERVAL_S,
        full_build_interval: float = DEFAULT_FULL_BUILD_INTERVAL_S,
        run_pipeline: bool = True,
        ready_timeout: float = READY_TIMEOUT_S,
        log_level: str = "warning",
        env: dict[str, str] | None = None,
        dbt_vars: dict[str, Any] | None = None,
    ) -> None:
        self.data_dir = Path(data_dir).resolve()
        self.host = host
        self.port = port
        self.url = ""
        self.ready_timeout = ready_timeout
        self.log_level = log_level
        self.env = env
        self.log_path = self.data_dir / "logs" / "serve.log"
        self.keys: dict[tuple[str, str], str] = {}
        self.runner: PipelineRunner | None = (
            PipelineRunner(
                self.data_dir,
                load_interval=load_interval,
                build_interval=build_interval,
                full_build_interval=full_build_interval,
                dbt_vars=dbt_vars,
            )
            if run_pipeline
            else None
        )
        self.process: subprocess.Popen[bytes] | None = None
        self._finalizer: weakref.finalize[Any, Any] | None = None

    # -- lifecycle -------------------------------------------------------------------------------

    def __enter__(self) -> LocalStack:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def start(self) -> LocalStack:
        """Start the server (wait for /readyz), then the runner; clean up if either fails."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._start_server()
            if self.runner is not None:
                self.runner.start()
        except BaseException:
            self.close()
            raise
        return self

    def close(self) -> None:
        """Stop the runner and the server; idempotent, never leaves the server running."""
        try:
            if self.runner is not None:
                self.runner.stop()
        finally:
            self._stop_server()

    # -- keys and data -----------------------------------------------------------------------------

    def write_key(self, source: str, name: str) -> str:
        """A write key for producer `name` of `source` (created once per stack, then reused)."""
        known = self.keys.get((source, name))
        if known is not None:
            return known
        from registry_service.registry.bootstrap import open_store
        from registry_service.registry.keys import KeyStore
        from registry_service.settings import Settings

        store = open_store(Settings(data_dir=self.data_dir))
        try:
            _key_id, raw = KeyStore(store).create(source, name)
        finally:
            store.close()
        self.keys[(source, name)] = raw
        return raw

    def wait_until_loaded(self, timeout: float = 120.0, *, hurry: bool = True) -> dict[str, Any]:
        """Wait until every record now on both streams is loaded and a successful **full** build
        (every model, tests, dq) began after that load; returns the runner's status document.
        With `hurry` the runner loads and runs that full build at once instead of waiting for
        its intervals. TimeoutError otherwise."""
        runner = self._runner()
        from pipeline.streams.local import StreamReader

        deadline = time.monotonic() + timeout
        ends = {}
        for stream in LOCAL_STREAMS:
            directory = self.data_dir / "streams" / stream
            ends[stream] = StreamReader(directory).end_offset() if directory.is_dir() else 0

        covered: list[int] = []

        def loaded(state: RunnerState) -> bool:
            # evaluated under the runner's lock: checkpoints and load_seq are from one step
            done = all(
                end == 0 or next_offset(state.checkpoints, stream) >= end
                for stream, end in ends.items()
            )
            if done:
                covered.append(state.load_seq)
            return done

        if hurry:
            runner.hurry()
        if not runner.wait_for(loaded, max(0.0, deadline - time.monotonic())):
            raise TimeoutError(
                f"records on the streams (ends {ends}) not loaded within {timeout:.0f} s; "
                f"checkpoints {runner.state.checkpoints}, last load {runner.state.last_load}"
            )
        sequence = covered[-1]
        if hurry:
            runner.hurry()
        if not runner.wait_for(
            lambda state: state.full.built_seq >= sequence,
            max(0.0, deadline - time.monotonic()),
        ):
            raise TimeoutError(
                f"no successful full dbt build after the load within {timeout:.0f} s; "
                f"last full build {runner.state.full.last}"
            )
        return runner.status_document()

    def _runner(self) -> PipelineRunner:
        if self.runner is None:
            raise RuntimeError("this LocalStack runs no pipeline (run_pipeline=False)")
        return self.runner

    # -- the server --------------------------------------------------------------------------------

    def _start_server(self) -> None:
        attempts = 3 if self.port == 0 else 1
        for attempt in range(attempts):
            port = self.port or _free_port(self.host)
            try:
                self._spawn(port)
                return
            except StackError as exc:
                self._stop_server()
                taken = "address already in use" in str(exc).lower()
                if not taken or attempt == attempts - 1:
                    raise

    def _spawn(self, port: int) -> None:
        import httpx

        command = [
            sys.executable,
            "-m",
            "refract",
            "serve",
            "--data-dir",
            str(self.data_dir),
            "--host",
            self.host,
            "--port",
            str(port),
            "--stream",
            "local",
            "--log-level",
            self.log_level,
        ]
        env = {**os.environ, **(self.env or {})}
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,  # its own process group: killed as a whole
                preexec_fn=_die_with_parent_hook(),
            )
        self._finalizer = weakref.finalize(self, _kill_group, self.process)
        self.url = f"http://{self.host}:{port}"
        deadline = time.monotonic() + self.ready_timeout
        while True:
            if self.process.poll() is not None:
                raise StackError(
                    f"refract serve exited with {self.process.returncode} before it was ready; "
                    f"log {self.log_path}: {self._log_tail()}"
                )
            try:
                if httpx.get(f"{self.url}/readyz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise StackError(
                    f"refract serve not ready at {self.url}/readyz within "
                    f"{self.ready_timeout:.0f} s; log {self.log_path}: {self._log_tail()}"
                )
            time.sleep(0.1)

    def _stop_server(self) -> None:
        process, self.process = self.process, None
        if process is None:
            return
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(STOP_GRACE_S)
            except subprocess.TimeoutExpired:
                _kill_group(process)
        if self._finalizer is not None:
            self._finalizer.detach()

    def _log_tail(self) -> str:
        try:
            with open(self.log_path, "rb") as handle:
                handle.seek(0, os.SEEK_END)
                size = handle.tell()
                handle.seek(max(0, size - LOG_TAIL_BYTES))
                tail = handle.read().decode("utf-8", "replace")
        except OSError:
            return "(no log)"
        return " | ".join(line for line in tail.splitlines() if line.strip())[-LOG_TAIL_BYTES:]


def _die_with_parent_hook() -> Callable[[], None] | None:
    """On Linux, a hook that makes the server get SIGTERM when this process dies, so a stack
    whose owner is SIGKILLed (a benchmark or test run killed by a timeout) leaves no server
    behind; close() and the finalizer cover every other exit.

    The kernel sends the signal when the *thread* that started the child exits, so the hook is
    only used from the main thread (elsewhere it could stop the server while the stack lives).
    """
    if (
        not sys.platform.startswith("linux")
        or threading.current_thread() is not threading.main_thread()
    ):
        return None
    libc = ctypes.CDLL(None, use_errno=True)
    pr_set_pdeathsig = 1  # <linux/prctl.h>

    def hook() -> None:
        libc.prctl(pr_set_pdeathsig, signal.SIGTERM)

    return hook


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL the server's process group, only while the server itself is unreaped (so the
    group id cannot have been reused by an unrelated process)."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)
    with contextlib.suppress(Exception):
        process.wait(5)


def _free_port(host: str) -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])
