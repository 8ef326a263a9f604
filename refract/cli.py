"""The `refract` command line: the interface CI pipelines and people script against.

Exit codes are part of the interface: 0 clean/compatible, 1 findings/incompatible, 2 usage
error or invalid input. Every failure of the input (missing file, invalid JSON, invalid schema,
unknown mode) is reported as one line on stderr, never as a traceback.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

import click

from compat.model import Mode, Policy
from compat.source import InvalidInput, SchemaSet
from refract import output

EXIT_OK, EXIT_FINDINGS, EXIT_USAGE = 0, 1, 2

MODE_CHOICE = click.Choice([m.value for m in Mode], case_sensitive=False)
POLICY_CHOICE = click.Choice([p.value for p in Policy], case_sensitive=False)
FORMAT_CHOICE = click.Choice(list(output.FORMATS), case_sensitive=False)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="refract", prog_name="refract")
def cli() -> None:
    """Refract: contract-first events — lint, diff and check JSON Schema contracts."""


@cli.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--format", "fmt", type=FORMAT_CHOICE, default="text", show_default=True)
def lint(paths: tuple[Path, ...], fmt: str) -> int:
    """Lint contracts (default: the contracts/ tree of this repository).

    Checks metaschema validity, descriptions, version/file-name agreement, x-pii and
    x-dedup-key annotations, examples, and a well-formed lens for every major bump.
    """
    from compat.lint import lint as run_lint

    targets = list(paths) or [_default_contracts_root()]
    findings = run_lint(targets)
    if fmt == "json":
        emit(output.findings_json(findings))
    elif fmt == "github":
        if findings:
            emit(output.findings_github(findings))
    else:
        emit(output.findings_text(findings))
    return EXIT_FINDINGS if findings else EXIT_OK


@cli.command()
@click.argument("schemas", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--mode",
    type=MODE_CHOICE,
    default=Mode.BACKWARD.value,
    show_default=True,
    help="Compatibility mode, as in Confluent Schema Registry.",
)
@click.option(
    "--policy",
    type=POLICY_CHOICE,
    default=Policy.STRICT.value,
    show_default=True,
    help="Which difference types count as compatible (Confluent's strict or lenient set).",
)
@click.option("--format", "fmt", type=FORMAT_CHOICE, default="text", show_default=True)
def diff(schemas: tuple[Path, ...], mode: str, policy: str, fmt: str) -> int:
    """Compare schema files, oldest first; the last is the new one.

    Non-transitive modes compare the new schema with the one before it, transitive modes with
    all of them. Every incompatible change comes with a counterexample event where one exists.
    """
    from compat.check import check_compatibility

    if len(schemas) < 2:
        raise click.UsageError(
            "diff needs at least two schema files (oldest first, the new one last)"
        )
    loaded = [SchemaSet.from_file(path) for path in schemas]
    report = check_compatibility(
        loaded, Mode(mode.lower()), Policy(policy.lower()), labels=[str(p) for p in schemas]
    )
    if fmt == "json":
        emit(json.dumps(report.to_json(), indent=2, ensure_ascii=False))
    elif fmt == "github":
        lines = output.changes_github(report.changes)
        if lines:
            emit("\n".join(lines))
    else:
        emit(output.report_text(report))
    return EXIT_OK if report.compatible else EXIT_FINDINGS


@cli.command()
@click.option(
    "--against",
    "against",
    metavar="GIT_REF",
    default=None,
    help="Compare with this commit, branch or tag (default: the merge base with main).",
)
@click.option(
    "--all",
    "check_everything",
    is_flag=True,
    help="Check every version of every event, not only what changed.",
)
@click.option("--policy", type=POLICY_CHOICE, default=Policy.STRICT.value, show_default=True)
@click.option("--format", "fmt", type=FORMAT_CHOICE, default="text", show_default=True)
@click.option(
    "--contracts",
    "contracts_dir",
    type=click.Path(path_type=Path),
    default=None,
    help="The contracts root (default: contracts/ of the repository).",
)
@click.option(
    "--registry",
    "registry_url",
    metavar="URL",
    default=None,
    help="Check the local contracts against this live registry instead of git history.",
)
def check(
    against: str | None,
    check_everything: bool,
    policy: str,
    fmt: str,
    contracts_dir: Path | None,
    registry_url: str | None,
) -> int:
    """For CI: lint and check every contract added or changed since GIT_REF.

    Each checked version is compared with the earlier versions of its major under the event's
    configured mode (default backward_transitive), the SemVer bump rule is enforced, and
    published versions may not be edited in place or deleted.
    """
    from compat import gitref
    from compat.history import check_all, check_since
    from compat.lint import lint as run_lint

    if registry_url is not None:
        from refract.registry_command import check_registry

        return check_registry(
            registry_url, os.environ.get("REFRACT_ADMIN_TOKEN"), contracts_dir, fmt
        )
    if against is not None and not against.strip():
        raise click.BadParameter("needs a git commit, branch or tag", param_hint="'--against'")
    root = _contracts_dir(contracts_dir) if contracts_dir else _default_contracts_root()
    root = root.resolve()
    chosen = Policy(policy.lower())
    if check_everything:
        outcome = check_all(root, chosen)
        findings = run_lint([root])
    else:
        repo = _git_work_tree(root)
        base = (
            gitref.resolve_ref(repo, against) if against is not None else gitref.default_base(repo)
        )
        outcome = check_since(repo, root, base, chosen)
        touched = sorted({r.path for r in outcome.results})
        findings = run_lint(touched) if touched else []
    ok = outcome.ok and not findings
    if fmt == "json":
        document = outcome.to_json()
        document["compatible"] = ok
        document["lint"] = [output.finding_json(f) for f in findings]
        emit(json.dumps(document, indent=2, ensure_ascii=False))
    elif fmt == "github":
        lines = [output.findings_github(findings)] if findings else []
        for result in outcome.results:
            if result.report:
                lines += [
                    ln
                    for ln in output.changes_github(result.report.changes)
                    if ln.startswith("::error")
                ]
            lines += [
                output.github_annotation("error", str(result.path), 1, 1, e) for e in result.errors
            ]
        lines += [f"::error::{output.github_escape_data(e)}" for e in outcome.errors]
        if lines:
            emit("\n".join(lines))
    else:
        emit(output.check_table(outcome, findings))
    return EXIT_OK if ok else EXIT_FINDINGS


def emit(text: str) -> None:
    """Print one block to stdout, surviving a reader that stopped reading (`refract ... | head`).

    The verdict is the exit code, so a closed pipe must neither change it nor print a traceback
    (click would turn the error into exit 1, which reads as "incompatible"). Later output goes
    to /dev/null, which also keeps the interpreter's final flush from failing again.
    """
    try:
        click.echo(text)
    except BrokenPipeError:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)


def _contracts_dir(path: Path) -> Path:
    """`--contracts` as given, once it is known to be a directory (git needs one to run in)."""
    if not path.exists():
        raise InvalidInput(f"{path}: no such directory (--contracts)")
    if not path.is_dir():
        raise InvalidInput(f"{path}: not a directory (--contracts expects the contracts root)")
    return path


def _git_work_tree(root: Path) -> Path:
    """The git work tree holding `root`; one plain sentence when there is none.

    `refract check` compares with git history, so outside a repository the useful answer is
    what to do instead (`--all`), not git's own error.
    """
    from compat import gitref

    if shutil.which("git") is None:
        raise InvalidInput("git is not installed; `refract check` needs it (or use --all)")
    try:
        return gitref.repo_root(root)
    except InvalidInput as exc:
        raise InvalidInput(
            f"{root}: not inside a git work tree; `refract check` compares with git history "
            f"(use --all to check every version without git) [{exc}]"
        ) from None


def _default_contracts_root() -> Path:
    """The contracts/ directory of the repository the command runs in (or the cwd)."""
    here = Path.cwd()
    for directory in (here, *here.parents):
        if (directory / "contracts" / "events").is_dir():
            return directory / "contracts"
    raise InvalidInput(f"{here}: no contracts/ directory here or above; pass PATH explicitly")


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the command and map every outcome onto the documented exit codes."""
    try:
        code = cli.main(args=argv, prog_name="refract", standalone_mode=False)
    except click.exceptions.NoArgsIsHelpError as exc:
        click.echo(exc.ctx.get_help() if exc.ctx else "", err=True)
        sys.exit(EXIT_USAGE)
    except click.UsageError as exc:
        command = exc.ctx.command_path if exc.ctx else "refract"
        click.echo(f"{command}: error: {exc.format_message()}", err=True)
        sys.exit(EXIT_USAGE)
    except click.Abort:
        click.echo("refract: aborted", err=True)
        sys.exit(EXIT_USAGE)
    except click.ClickException as exc:
        click.echo(f"refract: error: {exc.format_message()}", err=True)
        sys.exit(EXIT_USAGE)
    except InvalidInput as exc:
        click.echo(f"refract: error: {exc}", err=True)
        sys.exit(EXIT_USAGE)
    except RecursionError:  # MAX_NESTING keeps files shallow; long $ref chains can still do it
        click.echo(
            "refract: error: the schemas nest too deeply (through $ref chains or nesting) "
            "for refract to follow",
            err=True,
        )
        sys.exit(EXIT_USAGE)
    except Exception as exc:  # a bug, not bad input: still one line unless asked for more
        if os.environ.get("REFRACT_DEBUG"):
            raise
        click.echo(
            f"refract: internal error: {type(exc).__name__}: {exc} (set REFRACT_DEBUG=1 for details)",
            err=True,
        )
        sys.exit(EXIT_USAGE)
    sys.exit(code if isinstance(code, int) else EXIT_OK)


from refract.codegen_command import codegen_command  # noqa: E402 (kept apart: one-line registration)

cli.add_command(codegen_command)

from refract.classify_command import classify_command  # noqa: E402 (one-line registration)

cli.add_command(classify_command)

from refract.serve_command import serve_command  # noqa: E402 (one-line registration)

cli.add_command(serve_command)

from refract.registry_command import keys_group, registry_group  # noqa: E402 (one-line registration)

cli.add_command(registry_group)
cli.add_command(keys_group)

from refract.pipeline_command import pipeline_group  # noqa: E402 (one-line registration)

cli.add_command(pipeline_group)

from refract.demo_command import demo_command  # noqa: E402 (one-line registration)

cli.add_command(demo_command)
