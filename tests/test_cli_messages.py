"""What the command line says: error lines that keep bracketed values, directories and missing
files named as such, the progress display of long runs at 80 columns, table titles."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from rich.console import Console, Group
from rich.table import Table
from typer.testing import CliRunner

import r3d
from r3d.cli.app import PREPARING, error_message, loss_progress, loss_updater, titled
from r3d.cli.main import app

COW = Path(r3d.__file__).parent / "assets" / "cow" / "cow.obj"
runner = CliRunner()


def one_error_line(result) -> str:
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0]


@pytest.mark.parametrize("command", [["info"], ["render"], ["chamfer", str(COW)]])
def test_a_directory_is_called_a_directory(tmp_path, command):
    folder = tmp_path / "scans"
    folder.mkdir()
    line = one_error_line(runner.invoke(app, [*command, str(folder)]))
    assert line == f"error: {folder}: is a directory, not a file"


@pytest.mark.parametrize("command", [["info"], ["render"]])
def test_a_missing_file_is_named(tmp_path, command):
    line = one_error_line(runner.invoke(app, [*command, str(tmp_path / "gone.obj")]))
    assert line == f"error: {tmp_path / 'gone.obj'}: no such file"


def test_text_renamed_obj_says_no_geometry(tmp_path):
    path = tmp_path / "notes.obj"
    path.write_text("shopping list\n")
    line = one_error_line(runner.invoke(app, ["info", str(path)]))
    assert "no geometry found in 14 bytes" in line


def test_non_finite_values_are_printed(tmp_path):
    path = tmp_path / "nan.obj"
    path.write_text("v 0 0 0\nv 1 0 0\nv nan 1 0\nf 1 2 3\n")
    line = one_error_line(runner.invoke(app, ["info", str(path)]))
    assert line.endswith("nan.obj:3: vertex 2 is not finite ([nan, 1.0, 0.0])")
    scene = tmp_path / "s.yaml"
    scene.write_text(f"meshes: [{COW}]\ncameras: {{turntable: {{views: 2}}}}\n"
                     "lights: {type: point, location: [.nan, 1.0, 0.0]}\n")
    line = one_error_line(runner.invoke(app, ["render", str(scene)]))
    assert line.endswith("lights.location must be a list of 3 numbers, got [nan, 1.0, 0.0]")


def test_error_message_of_os_errors():
    assert error_message(FileNotFoundError(2, "no such file", "a.obj")) == "a.obj: no such file"
    assert error_message(ValueError("x [1, 2]")) == "x [1, 2]"


def _render(console: Console, bar) -> list[str]:
    console.print(Group(*bar.get_renderables()))
    lines = console.file.getvalue().splitlines()
    console.file.seek(0)
    console.file.truncate()
    return lines


def test_progress_at_80_columns_keeps_bar_count_rate_and_eta():
    console = Console(file=io.StringIO(), width=80, color_system=None, force_terminal=False)
    bar = loss_progress(console)
    clock = iter(float(t) for t in range(1000))
    bar.get_time = lambda: next(clock)
    task = bar.add_task("fitting", total=400, losses="")
    first, status = _render(console, bar)
    assert first.startswith("fitting") and "0/400" in first and "-:--:--" in first
    assert status == PREPARING
    update = loss_updater(bar, task)
    losses = {"total": 0.18141, "silhouette": 0.1234, "edge": 0.00123, "normal": 0.0456,
              "laplacian": 0.0789}
    for done in (10, 20, 30):
        update(done, 400, losses)
    first, second = _render(console, bar)
    assert all(len(line) <= 80 for line in (first, second))
    assert first.startswith("fitting ━") and " 30/400 " in first
    assert " it/s " in first and first.rstrip()[-7:].count(":") == 2  # the ETA, h:mm:ss
    assert second == ("total=0.1814  silhouette=0.1234  edge=0.00123  normal=0.0456  "
                      "laplacian=0.0789")


def test_titles_are_never_wrapped_at_the_table_width():
    console = Console(file=io.StringIO(), width=80, color_system=None)
    table = Table(show_header=False)
    table.add_row("kind", "mesh")
    title = "/data/scans/a_rather_long_folder_name/cow_mesh_file.obj"
    console.print(titled(title, table))
    lines = console.file.getvalue().splitlines()
    assert lines[0] == title and len(lines[1]) < len(title)
