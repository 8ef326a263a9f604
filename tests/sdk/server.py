"""A fault-injecting stand-in for the Refract gateway, served by uvicorn on 127.0.0.1.

It speaks the wire protocol of docs/ingestion-protocol.md, records every event id it receives
and accepts, and applies scripted faults to the next requests: N x 500, 429 with Retry-After,
slow responses, connections dropped mid-response (before or after the batch was processed),
400 for a whole batch. Events whose ``page.title`` is ``"bad"`` are rejected individually
(partial acceptance). Run it in a thread (``GatewayServer``) or as ``python -m tests.sdk.server``
for a separate process (benchmarks).
"""

from __future__ import annotations

import asyncio
import gzip
import json
import socket
import sys
import threading
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from fastapi import FastAPI, Request, Response

WRITE_KEY = "wk_test"


@dataclass
class Fault:
    kind: str  # "status", "slow", "drop_before", "drop_after"
    status: int = 500
    retry_after: str | None = None
    seconds: float = 0.0
    error: str = "internal_error"


@dataclass
class Received:
    at: float
    status: int
    event_ids: list[str]
    sent_at: str | None


@dataclass
class Recorder:
    """What the gateway saw; shared between the server thread and the test."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    faults: deque[Fault] = field(default_factory=deque)
    requests: list[Received] = field(default_factory=list)
    accepted: Counter[str] = field(default_factory=Counter)
    rejected: Counter[str] = field(default_factory=Counter)
    events: dict[str, dict[str, Any]] = field(default_factory=dict)
    count_only: bool = False
    epoch: int = 0
    """Bumped by ``reset``: a request that arrived before it (e.g. a slow one a test abandoned)
    is not recorded into the next test."""

    def reset(self) -> None:
        with self.lock:
            self.epoch += 1
            self.faults.clear()
            self.requests.clear()
            self.accepted.clear()
            self.rejected.clear()
            self.events.clear()

    def script(self, *faults: Fault) -> None:
        with self.lock:
            self.faults.extend(faults)

    def next_fault(self) -> Fault | None:
        with self.lock:
            return self.faults.popleft() if self.faults else None

    def all_received(self) -> list[str]:
        with self.lock:
            return [i for r in self.requests for i in r.event_ids]

    def snapshot(self) -> tuple[Counter[str], Counter[str]]:
        with self.lock:
            return Counter(self.accepted), Counter(self.rejected)


def _is_bad(event: dict[str, Any]) -> bool:
    page = event.get("page")
    return isinstance(page, dict) and page.get("title") == "bad"


def _process(recorder: Recorder, body: bytes, epoch: int) -> dict[str, Any]:
    batch = json.loads(gzip.decompress(body))
    results = []
    ids = []
    with recorder.lock:
        if epoch != recorder.epoch:
            return {"results": []}
        for event in batch["events"]:
            event_id = event["event_id"]
            ids.append(event_id)
            if _is_bad(event):
                recorder.rejected[event_id] += 1
                results.append(
                    {
                        "event_id": event_id,
                        "status": "rejected",
                        "reason": "schema_violation",
                        "message": "/page/title: 'bad' is not allowed",
                    }
                )
            else:
                recorder.accepted[event_id] += 1
                if not recorder.count_only:
                    recorder.events[event_id] = event
                results.append({"event_id": event_id, "status": "accepted"})
        recorder.requests.append(Received(time.monotonic(), 200, ids, batch.get("sent_at")))
    return {"results": results}


def _sent_at(body: bytes) -> str | None:
    """The batch's `sent_at` (stamped when the client encoded it), for requests not parsed
    further; None when the body is not a gzipped JSON batch."""
    try:
        batch = json.loads(gzip.decompress(body))
    except (OSError, ValueError):
        return None
    value = batch.get("sent_at") if isinstance(batch, dict) else None
    return value if isinstance(value, str) else None


def build_app(recorder: Recorder) -> Any:
    app = FastAPI()

    @app.post("/v1/events")
    async def events(request: Request) -> Response:
        epoch = recorder.epoch
        fault = recorder.next_fault()
        body = await request.body()
        if request.headers.get("authorization") != f"Bearer {WRITE_KEY}":
            return Response(
                json.dumps({"error": "unauthorized", "message": "bad write key"}),
                401,
                media_type="application/json",
            )
        if request.headers.get("content-encoding") != "gzip":
            return Response(
                json.dumps({"error": "unsupported_encoding", "message": "gzip only"}),
                415,
                media_type="application/json",
            )
        if fault is not None and fault.kind == "status":
            sent_at = _sent_at(body)
            with recorder.lock:
                recorder.requests.append(Received(time.monotonic(), fault.status, [], sent_at))
            headers = {"Retry-After": fault.retry_after} if fault.retry_after else {}
            return Response(
                json.dumps({"error": fault.error, "message": f"scripted {fault.status}"}),
                fault.status,
                headers=headers,
                media_type="application/json",
            )
        if fault is not None and fault.kind == "slow":
            await asyncio.sleep(fault.seconds)
        return Response(
            json.dumps(_process(recorder, body, epoch)), 200, media_type="application/json"
        )

    async def asgi(scope: Any, receive: Any, send: Any) -> None:
        """Drops connections itself (FastAPI cannot); everything else goes to the app."""
        if (
            scope["type"] == "http"
            and recorder.faults
            and recorder.faults[0].kind.startswith("drop")
        ):
            epoch = recorder.epoch
            fault = recorder.next_fault()
            assert fault is not None
            chunks = []
            more = True
            while more:
                message = await receive()
                chunks.append(message.get("body", b""))
                more = message.get("more_body", False)
            if fault.kind == "drop_after":
                _process(recorder, b"".join(chunks), epoch)
            else:
                with recorder.lock:
                    recorder.requests.append(Received(time.monotonic(), 0, [], None))
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [
                        (b"content-length", b"1000"),
                        (b"content-type", b"application/json"),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": b'{"results": [', "more_body": True})
            raise ConnectionAbortedError("scripted drop")  # uvicorn closes the connection
        await app(scope, receive, send)

    return asgi


class GatewayServer:
    """uvicorn serving ``build_app`` in a background thread on an ephemeral port."""

    def __init__(self) -> None:
        self.recorder = Recorder()
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self.port = self._sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            build_app(self.recorder),
            log_level="critical",
            lifespan="off",
            timeout_graceful_shutdown=1,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._sock]}, daemon=True
        )

    def start(self) -> GatewayServer:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(5)
        self._sock.close()


def main() -> None:
    """``python -m tests.sdk.server PORT``: serve in this process (accept-all, counting only)."""
    port = int(sys.argv[1])
    recorder = Recorder(count_only=True)
    uvicorn.run(
        build_app(recorder), host="127.0.0.1", port=port, log_level="critical", lifespan="off"
    )


if __name__ == "__main__":
    main()
