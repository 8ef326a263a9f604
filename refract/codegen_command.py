"""`refract codegen`: generate code from the contracts, or check that it is current.

Registered on the `refract` group in refract/cli.py. Exit codes follow the CLI's contract:
0 written or up to date, 1 stale generated files (with --check), 2 invalid input (an
InvalidInput raised while reading contracts becomes one line on stderr in `refract.cli.main`).
"""

from __future__ import annotations

from pathlib import Path

import click

from compat.source import InvalidInput, display_path

EXIT_OK, EXIT_STALE = 0, 1


@click.command("codegen")
@click.option(
    "--check",
    is_flag=True,
    help="Do not write; exit 1 naming every generated file that does not match the contracts.",
)
@click.option(
    "--contracts",
    "contracts_dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="The contracts root (default: contracts/ of the repository).",
)
@click.option(
    "--out",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Output directory (default: the target's directory in the repository, "
    "sdk/src/refract_sdk for python-sdk).",
)
@click.option(
    "--target",
    "target_names",
    multiple=True,
    metavar="NAME",
    help="Generate only this target (repeatable; default: every target, today python-sdk).",
)
def codegen_command(
    check: bool, contracts_dir: Path | None, out: Path | None, target_names: tuple[str, ...]
) -> int:
    """Generate SDK code from the contracts (pydantic models, catalogue data, upcasters).

    The output is deterministic: the same contracts always give byte-identical files, so the
    generated code is checked in and `refract codegen --check` guards it in CI.
    """
    from codegen.targets import targets
    from codegen.writer import compare, write
    from compat.catalogue import load_catalogue

    root = (contracts_dir or _default_contracts_root()).resolve()
    catalogue = load_catalogue(root)
    registry = targets()
    unknown = [name for name in target_names if name not in registry]
    if unknown:
        raise click.UsageError(
            f"unknown target {unknown[0]!r} (one of {', '.join(sorted(registry))})"
        )
    chosen = [registry[name] for name in (target_names or sorted(registry))]
    if out is not None and len(chosen) != 1:
        raise click.UsageError("--out needs exactly one --target")
    stale_total = 0
    for target in chosen:
        directory = (out or root.parent / target.default_output).resolve()
        rendered = target.render(catalogue)
        comparison = compare(rendered, directory, target.header_prefix, target.suffixes)
        entries = comparison.entries()
        if check:
            if entries:
                click.echo(
                    f"{target.name}: {len(entries)} generated file(s) do not match "
                    f"{display_path(root)}:"
                )
                for kind, relative in entries:
                    click.echo(f"  {kind:<8}{display_path(directory / relative)}")
                stale_total += len(entries)
            else:
                click.echo(f"{target.name}: {comparison.current} generated file(s) up to date")
            continue
        write(rendered, directory, comparison)
        changed = len(comparison.stale) + len(comparison.missing)
        click.echo(
            f"{target.name}: wrote {changed} file(s), removed {len(comparison.extra)}, "
            f"{comparison.current} unchanged, in {display_path(directory)}"
        )
    if stale_total:
        click.echo("run `refract codegen` to regenerate", err=True)
        return EXIT_STALE
    return EXIT_OK


def _default_contracts_root() -> Path:
    """contracts/ of the repository the command runs in (the nearest one at or above the cwd)."""
    here = Path.cwd()
    for directory in (here, *here.parents):
        if (directory / "contracts" / "events").is_dir():
            return directory / "contracts"
    raise InvalidInput(f"{here}: no contracts/ directory here or above; pass --contracts DIR")
