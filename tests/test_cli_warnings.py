"""Warnings as a command-line user sees them: ``warning: FILE:LINE: message`` lines on stderr
(no Python path, no category name), each once; ``--quiet`` hides them, ``--strict`` makes r3d's
warnings errors (exit 2) but not other libraries'."""

from __future__ import annotations

import logging
import subprocess
import warnings

import pytest
from typer.testing import CliRunner

from r3d.cli.main import app
from r3d.io import summary

runner = CliRunner()

SKIPPED_FACE = "face with 2 corner(s) skipped (a face needs 3)"


@pytest.fixture
def scan(tmp_path):
    """An OBJ naming a material library that is not there, with a 2-corner face on line 6."""
    path = tmp_path / "scan.obj"
    path.write_text("mtllib gone.mtl\nv 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 3\nf 1 2\n")
    return path


def expected_warnings(path) -> list[str]:
    return [
        f"warning: {path}:6: {SKIPPED_FACE}",
        f"warning: {path}: material library 'gone.mtl' not found ({path.parent / 'gone.mtl'}); "
        "loading without its materials",
    ]


def assert_no_python_internals(stderr: str) -> None:
    for internal in ("UserWarning", "R3DWarning", "FileWarning", ".py:", "Traceback"):
        assert internal not in stderr, stderr


def test_loader_warnings_are_one_line_each_naming_the_input_file(scan):
    result = runner.invoke(app, ["info", str(scan)])
    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines() == expected_warnings(scan)
    assert_no_python_internals(result.stderr)


def test_repeated_warnings_print_once(scan):
    result = runner.invoke(app, ["info", str(scan), str(scan), "--json"])
    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines() == expected_warnings(scan)


@pytest.mark.parametrize("place", ["before", "after"])
@pytest.mark.parametrize("flag", ["--quiet", "-q"])
def test_quiet_hides_warnings(scan, place, flag):
    argv = [flag, "info", str(scan)] if place == "before" else ["info", str(scan), flag]
    result = runner.invoke(app, argv)
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    assert "vertices" in result.stdout


@pytest.mark.parametrize("argv", [["--strict", "info", "{}"], ["info", "{}", "--strict"],
                                  ["--quiet", "--strict", "info", "{}"]])
def test_strict_makes_the_first_warning_an_error(scan, argv):
    result = runner.invoke(app, [a.format(scan) for a in argv])
    assert result.exit_code == 2, result.output
    assert result.stderr.splitlines() == [f"error: {scan}:6: {SKIPPED_FACE}"]
    assert result.stdout == ""


def test_other_libraries_warnings_are_lines_and_not_errors(scan, monkeypatch):
    real = summary.summarize_file

    def noisy(path):
        warnings.warn("an op of another library is slow here", UserWarning, stacklevel=1)
        return real(path)

    monkeypatch.setattr(summary, "summarize_file", noisy)
    result = runner.invoke(app, ["--strict", "info", str(scan)])
    assert result.exit_code == 2  # the file's own warning is an error
    assert result.stderr.splitlines() == ["warning: an op of another library is slow here",
                                          f"error: {scan}:6: {SKIPPED_FACE}"]
    clean = scan.with_name("clean.obj")
    clean.write_text("v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 3\n")
    result = runner.invoke(app, ["--strict", "info", str(clean)])
    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines() == ["warning: an op of another library is slow here"]


def test_console_script_prints_warning_lines(scan, r3d_exe):
    out = subprocess.run([r3d_exe, "info", str(scan)], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stderr.splitlines() == expected_warnings(scan)
    assert_no_python_internals(out.stderr)
    out = subprocess.run([r3d_exe, "--strict", "info", str(scan)], capture_output=True,
                         text=True)
    assert out.returncode == 2
    assert out.stderr.splitlines() == [f"error: {scan}:6: {SKIPPED_FACE}"]


@pytest.mark.parametrize("quiet", [False, True])
def test_r3d_logged_warnings_are_lines_too(scan, monkeypatch, quiet):
    real = summary.summarize_file

    def falls_back(path):
        logging.getLogger("r3d.ops").warning("knn_points: running the pure-PyTorch twin")
        return real(path)

    monkeypatch.setattr(summary, "summarize_file", falls_back)
    clean = scan.with_name("clean.obj")
    clean.write_text("v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 3\n")
    result = runner.invoke(app, ["--strict", "info", str(clean), *(["-q"] if quiet else [])])
    assert result.exit_code == 0, result.output
    expected = [] if quiet else ["warning: knn_points: running the pure-PyTorch twin"]
    assert result.stderr.splitlines() == expected
