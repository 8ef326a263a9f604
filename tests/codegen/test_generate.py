"""`refract codegen`: deterministic output, checked-in files current, --check exit codes."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from codegen.names import HEADER_PREFIX
from codegen.python_sdk import PythonSdkTarget
from codegen.writer import compare, generated_files, write
from compat.catalogue import Catalogue, load_catalogue
from tests.codegen.conftest import CONTRACTS, REPO, SDK_PACKAGE_DIR


def run_refract(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "refract", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_rendering_twice_is_byte_identical(catalogue: Catalogue, rendered: dict[str, str]) -> None:
    again = PythonSdkTarget().render(load_catalogue(CONTRACTS))
    assert again == rendered


def test_checked_in_files_equal_the_rendering(rendered: dict[str, str]) -> None:
    comparison = compare(rendered, SDK_PACKAGE_DIR, HEADER_PREFIX, (".py",))
    assert comparison.entries() == [], "run `uv run refract codegen`"
    assert comparison.current == len(rendered)


def test_every_generated_file_has_the_header_and_no_machine_specifics(
    rendered: dict[str, str],
) -> None:
    assert {"events/__init__.py", "_catalogue.py", "_upcasters.py"} <= set(rendered)
    assert "events/page_view/v1_1_0.py" in rendered
    for relative, text in rendered.items():
        assert text.startswith(HEADER_PREFIX + " from "), relative
        assert "do not edit." in text.splitlines()[0]
        assert str(REPO) not in text, relative  # no absolute paths
        assert "datamodel-codegen" not in text  # no generator banner (it carries a timestamp)


def test_rendering_into_a_tmp_dir_equals_the_checked_in_files(
    tmp_path: Path, rendered: dict[str, str]
) -> None:
    out = tmp_path / "refract_sdk"
    write(rendered, out, compare(rendered, out, HEADER_PREFIX, (".py",)))
    for relative in rendered:
        assert (out / relative).read_bytes() == (SDK_PACKAGE_DIR / relative).read_bytes()
    assert sorted(generated_files(out, HEADER_PREFIX, (".py",))) == sorted(rendered)


def test_write_removes_extra_generated_files_but_keeps_hand_written_ones(
    tmp_path: Path, rendered: dict[str, str]
) -> None:
    out = tmp_path / "refract_sdk"
    write(rendered, out, compare(rendered, out, HEADER_PREFIX, (".py",)))
    extra = out / "events" / "gone_event" / "v1_0_0.py"
    extra.parent.mkdir()
    extra.write_text(f"{HEADER_PREFIX} from contracts/events/gone_event/1.0.0.json; do not edit.\n")
    hand_written = out / "upcasting.py"
    hand_written.write_text('"""Hand-written."""\n')
    comparison = compare(rendered, out, HEADER_PREFIX, (".py",))
    assert comparison.extra == ["events/gone_event/v1_0_0.py"]
    write(rendered, out, comparison)
    assert not extra.parent.exists()
    assert hand_written.exists()
    assert compare(rendered, out, HEADER_PREFIX, (".py",)).up_to_date


def test_check_passes_on_the_repository() -> None:
    result = run_refract("codegen", "--check")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "up to date" in result.stdout


def test_check_names_stale_and_extra_files_and_exits_1(tmp_path: Path) -> None:
    contracts = tmp_path / "contracts"
    shutil.copytree(CONTRACTS, contracts)
    out = tmp_path / "refract_sdk"
    shutil.copytree(SDK_PACKAGE_DIR, out, ignore=shutil.ignore_patterns("__pycache__"))
    signup = contracts / "events" / "signup" / "1.1.0.json"
    signup.write_text(
        signup.read_text().replace('"title": "Signup"', '"title": "Signup (edited)"', 1)
    )
    assert "(edited)" in signup.read_text()
    extra = out / "events" / "gone_event" / "v1_0_0.py"
    extra.parent.mkdir()
    extra.write_text(f"{HEADER_PREFIX} from contracts/events/gone_event/1.0.0.json; do not edit.\n")
    (out / "events" / "page_view" / "v1_0_0.py").unlink()

    result = run_refract("codegen", "--check", "--contracts", str(contracts), "--out", str(out))
    assert result.returncode == 1, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert any("stale" in ln and ln.endswith("events/signup/v1_1_0.py") for ln in lines), lines
    assert any("extra" in ln and ln.endswith("events/gone_event/v1_0_0.py") for ln in lines)
    assert any("missing" in ln and ln.endswith("events/page_view/v1_0_0.py") for ln in lines)
    assert not any("signup/v1_0_0.py" in ln for ln in lines)  # untouched versions are current
    assert "refract codegen" in result.stderr
    assert extra.exists()  # --check never writes

    result = run_refract("codegen", "--contracts", str(contracts), "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert not extra.exists()
    assert "(edited)" in (out / "events" / "signup" / "v1_1_0.py").read_text()
    result = run_refract("codegen", "--check", "--contracts", str(contracts), "--out", str(out))
    assert result.returncode == 0, result.stdout + result.stderr


def test_bad_input_exits_2_with_one_line(tmp_path: Path) -> None:
    result = run_refract("codegen", "--check", "--contracts", str(tmp_path))
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1
    assert "not a contracts root" in result.stderr
    result = run_refract("codegen", "--target", "cobol")
    assert result.returncode == 2
    assert "unknown target 'cobol'" in result.stderr
