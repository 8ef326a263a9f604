"""A fault-injecting proxy in front of a real boto3 Kinesis client (talking to kinesis-local).

Not a mock: accepted records really go to kinesis-local, and a simulated partial failure sends
only the records that "succeed", so the stream ends up exactly as real Kinesis would leave it.
The proxy also records every PutRecords call so tests can check the call limits, which
kinesis-local does not enforce.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError, ReadTimeoutError


@dataclass(frozen=True)
class Fault:
    """What to do to one PutRecords call.

    throttle: the whole call fails with ProvisionedThroughputExceededException (nothing written);
    partial:  the records at `fail` get `code` (not written), the others are written;
    lost:     everything is written, then the response is lost (a read timeout).
    """

    kind: str
    fail: frozenset[int] = frozenset()
    code: str = "ProvisionedThroughputExceededException"


@dataclass
class Call:
    keys: list[str]
    datas: list[bytes]
    fault: Fault | None

    @property
    def bytes(self) -> int:
        return sum(len(d) + len(k.encode()) for k, d in zip(self.keys, self.datas, strict=True))


Plan = Callable[[int, list[dict[str, Any]]], Fault | None]


@dataclass
class FaultyKinesis:
    client: Any
    plan: Plan | None = None
    calls: list[Call] = field(default_factory=list)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.client, name)

    def put_records(self, *, StreamName: str, Records: list[dict[str, Any]]) -> dict[str, Any]:
        fault = self.plan(len(self.calls), Records) if self.plan else None
        self.calls.append(
            Call([r["PartitionKey"] for r in Records], [r["Data"] for r in Records], fault)
        )
        if fault is None:
            return dict(self.client.put_records(StreamName=StreamName, Records=Records))
        if fault.kind == "throttle":
            raise ClientError(
                {
                    "Error": {"Code": fault.code, "Message": "Rate exceeded for stream (injected)"},
                    "ResponseMetadata": {"HTTPStatusCode": 400},
                },
                "PutRecords",
            )
        if fault.kind == "lost":
            self.client.put_records(StreamName=StreamName, Records=Records)
            raise ReadTimeoutError(endpoint_url="injected://lost-response")
        assert fault.kind == "partial", fault
        kept = [r for i, r in enumerate(Records) if i not in fault.fail]
        written = iter(
            self.client.put_records(StreamName=StreamName, Records=kept)["Records"] if kept else []
        )
        results = [
            {"ErrorCode": fault.code, "ErrorMessage": "injected failure"}
            if i in fault.fail
            else next(written)
            for i in range(len(Records))
        ]
        return {"FailedRecordCount": len(fault.fail), "Records": results}
