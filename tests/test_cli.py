"""The command line, driven as a user would: console script, exit codes, JSON output."""

import json
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

import r3d
from r3d.cli.main import app

DATA = Path(__file__).parent / "data"
COW = Path(r3d.__file__).parent / "assets" / "cow" / "cow.obj"
runner = CliRunner()


def test_console_script_version(r3d_exe):
    out = subprocess.run([r3d_exe, "--version"], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == f"r3d {r3d.__version__}"


def test_help_lists_commands():
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    assert "info" in result.output


def test_info_on_bundled_cow_json():
    result = runner.invoke(app, ["info", str(COW), "--json"])
    assert result.exit_code == 0, result.output
    (summary,) = json.loads(result.stdout)
    assert summary["kind"] == "mesh"
    assert summary["vertices"] == 2930 and summary["faces"] == 5856
    assert summary["textures"].startswith("TexturesUV")
    assert summary["watertight"] is True
    lo, hi = summary["bounds"]["min"], summary["bounds"]["max"]
    assert all(a < b for a, b in zip(lo, hi))


def test_info_table_output():
    result = runner.invoke(app, ["info", str(COW)])
    assert result.exit_code == 0
    assert "5856" in result.output and "watertight" in result.output


def test_info_point_cloud(tmp_path):
    ply = tmp_path / "cloud.ply"
    ply.write_text(
        "ply\nformat ascii 1.0\nelement vertex 3\nproperty float x\nproperty float y\n"
        "property float z\nend_header\n0 0 0\n1 0 0\n0 2 0\n"
    )
    result = runner.invoke(app, ["info", str(ply), "--json"])
    assert result.exit_code == 0, result.output
    (summary,) = json.loads(result.stdout)
    assert summary["kind"] == "pointcloud" and summary["vertices"] == 3
    assert summary["bounds"]["max"] == [1.0, 2.0, 0.0]


def test_open_mesh_is_not_watertight(tmp_path):
    obj = tmp_path / "tri.obj"
    obj.write_text("v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 3\n")
    result = runner.invoke(app, ["info", str(obj), "--json"])
    assert json.loads(result.stdout)[0]["watertight"] is False


@pytest.mark.parametrize("name", ["missing.obj", "edge_cases/empty.ply", "edge_cases/empty.stl"])
def test_bad_files_exit_2_with_one_line(name, r3d_exe):
    out = subprocess.run([r3d_exe, "info", str(DATA / name)], capture_output=True, text=True)
    assert out.returncode == 2
    assert out.stdout == ""
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and name.split("/")[-1] in lines[0] and lines[0].startswith("error:")


def test_debug_shows_traceback(r3d_exe):
    out = subprocess.run(
        [r3d_exe, "--debug", "info", str(DATA / "missing.obj")], capture_output=True, text=True
    )
    assert out.returncode == 2
    assert "Traceback" in out.stderr


def test_unknown_option_is_usage_error():
    result = runner.invoke(app, ["info", "--frobnicate"])
    assert result.exit_code == 2


def test_progress_shows_iterations_per_second():
    from rich.progress import Progress

    from r3d.cli.app import RateColumn

    clock = iter(float(t) for t in range(100))
    with Progress(RateColumn(), get_time=lambda: next(clock), disable=True) as bar:
        task = bar.add_task("x", total=100)
        column = RateColumn()
        assert column.render(bar.tasks[task]).plain == ""
        for _ in range(5):
            bar.advance(task, 2)  # 2 iterations per (fake) second
        assert column.render(bar.tasks[task]).plain == "2.0 it/s"
