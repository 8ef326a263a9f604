"""`refract demo`: the main job on a laptop, end to end, reproducibly.

1. lint and check this repository's contracts (seconds; a broken contract stops the demo);
2. start the local stack (pipeline.stack.LocalStack: `refract serve` + loader + dbt builds) in
   a fresh data directory;
3. send the seeded traffic (pipeline.demo.traffic) over HTTP while latency probes run;
4. wait until everything sent is loaded and built, stop the stack;
5. print the report (pipeline.demo.report) and write it as HTML (and JSON) into the data dir.

The data directory defaults to `./.refract/demo-<seed>` and is wiped at the start, so a run
never sees an earlier run's rows: with the same `--seed` and `--events`, every figure except
latency, freshness and timings is identical. A directory is only wiped when it is empty or
holds the marker of an earlier demo (`demo.json`), never a directory of something else.
Exit 0 when the warehouse agrees with what was injected, 1 when it does not (the report
says where), 2 with one line on stderr when the demo could not run.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path
from typing import Any

import click

from compat.source import InvalidInput

MARKER = "demo.json"


def default_data_dir(seed: int) -> Path:
    return Path(".refract") / f"demo-{seed}"


def _fresh(data_dir: Path) -> None:
    """Empty `data_dir` for a new run, refusing to wipe a directory that is not a demo's."""
    if data_dir.exists():
        if not data_dir.is_dir():
            raise InvalidInput(f"{data_dir}: not a directory (--data-dir)")
        if any(data_dir.iterdir()) and not (data_dir / MARKER).is_file():
            raise InvalidInput(
                f"{data_dir}: not empty and not a refract demo directory (no {MARKER}); "
                "pass an empty or new --data-dir"
            )
        shutil.rmtree(data_dir)
    data_dir.mkdir(parents=True)


def _check_contracts(emit: Any) -> bool:
    from compat.history import check_all
    from compat.lint import lint as run_lint
    from refract import output
    from refract.cli import _default_contracts_root

    root = _default_contracts_root().resolve()
    findings = run_lint([root])
    outcome = check_all(root)
    table = output.check_table(outcome, findings)
    if not outcome.ok or findings:
        emit(f"Refract contract check of {output.relative(root)}")
        emit(table)
        return False
    emit(f"contracts: {table.strip().splitlines()[-1]}")
    return True


@click.command("demo")
@click.option(
    "--events",
    type=click.IntRange(min=50),
    default=None,
    help="Events to send (default 20000, about 1-2 minutes on 2 cores).",
)
@click.option("--seed", type=int, default=1, show_default=True, help="Traffic seed.")
@click.option(
    "--data-dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Where the stack keeps its data and the report (default ./.refract/demo-<seed>; "
    "wiped at the start).",
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=1),
    default=600.0,
    show_default=True,
    help="Seconds to wait for the pipeline to load and build everything sent.",
)
def demo_command(events: int | None, seed: int, data_dir: Path | None, timeout: float) -> int:
    """The main job: local stack, realistic traffic, and the report it answers with.

    Starts the gateway, loader and dbt builds on embedded defaults, sends simulated web,
    mobile, backend and CRM traffic (AI assistants, search, social, email, direct; several SDK
    versions; duplicates, late and malformed events), then prints referral conversion and
    retention by AI platform, duplicates and dead letters removed, data quality and
    end-to-end latency, and writes <data-dir>/report.html.
    """
    from pipeline.demo import html
    from pipeline.demo.model import PROBE_PRODUCER, PRODUCERS
    from pipeline.demo.report import ReportError, build_report, latency_seconds
    from pipeline.demo.send import LatencyProbe, SendError, send_plan
    from pipeline.demo.traffic import DEFAULT_EVENTS, plan
    from pipeline.stack import LocalStack, StackError
    from refract.cli import EXIT_FINDINGS, EXIT_OK, emit

    def progress(message: str) -> None:
        click.echo(f"demo: {message}", err=True)

    if not _check_contracts(emit):
        return EXIT_FINDINGS
    count = events if events is not None else DEFAULT_EVENTS
    directory = (data_dir or default_data_dir(seed)).resolve()
    _fresh(directory)
    traffic = plan(seed, count)
    expected = traffic.expected.to_json()
    (directory / MARKER).write_text(
        json.dumps({"seed": seed, "events": count, "expected": expected}, indent=2) + "\n"
    )
    timings: dict[str, float] = {}
    started = time.monotonic()
    probe: LatencyProbe | None = None
    refused: dict[str, int] = {}
    try:
        progress(f"starting the local stack in {directory}")
        with LocalStack(directory) as stack:
            timings["stack start"] = time.monotonic() - started
            keys = {p.name: stack.write_key(p.source, p.name) for p in PRODUCERS}
            probe = LatencyProbe(stack.url, keys[PROBE_PRODUCER]).start()
            progress(f"sending {traffic.event_items:,} events (seed {seed}) to {stack.url}")
            sent = send_plan(traffic, stack.url, keys)
            timings["sending"] = sent.duration_s
            refused = dict(sent.refused)
            probe.stop()
            progress("waiting until everything sent is loaded and built")
            mark = time.monotonic()
            stack.wait_until_loaded(timeout)
            timings["load + build after the last event"] = time.monotonic() - mark
            progress("stopping the stack")
    except (StackError, SendError, TimeoutError) as exc:
        raise click.ClickException(f"demo failed: {exc}") from None
    finally:
        if probe is not None:
            probe.stop()
    timings["total"] = time.monotonic() - started
    warehouse = directory / "warehouse.duckdb"
    measurements: dict[str, Any] = {
        "latency probes sent": probe.sent if probe else 0,
        **{f"time: {k}": f"{v:.1f} s" for k, v in timings.items()},
    }
    try:
        report = build_report(warehouse, expected, measurements=measurements, refused=refused)
        page = directory / "report.html"
        page.write_text(html.render(report, latency_seconds(warehouse)), encoding="utf-8")
    except ReportError as exc:
        raise click.ClickException(str(exc)) from None
    (directory / "report.json").write_text(
        json.dumps({**report.deterministic_json(), "measurements": report.measurements}, indent=2)
        + "\n"
    )
    emit("")
    emit(report.text())
    emit("")
    emit(f"HTML report: {page}")
    if report.mismatches:
        click.echo(
            f"refract demo: the warehouse disagrees with the injected traffic in "
            f"{len(report.mismatches)} figure(s); see MISMATCHES above",
            err=True,
        )
        return EXIT_FINDINGS
    return EXIT_OK
