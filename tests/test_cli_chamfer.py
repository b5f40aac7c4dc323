"""``r3d chamfer``: pairs of files, JSON output, known distances, F-score and exit codes."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from r3d.cli.main import app

DATA = Path(__file__).parent / "data"
COW = DATA / "cow" / "cow.obj"
runner = CliRunner()


def write_ply(path: Path, points: torch.Tensor, normals: torch.Tensor | None = None) -> Path:
    """An ASCII PLY point cloud (no faces), with normals when given."""
    props = ["x", "y", "z"] + (["nx", "ny", "nz"] if normals is not None else [])
    rows = points if normals is None else torch.cat([points, normals], 1)
    header = ["ply", "format ascii 1.0", f"element vertex {rows.shape[0]}"]
    header += [f"property float {p}" for p in props] + ["end_header"]
    body = [" ".join(f"{v:.6f}" for v in row) for row in rows.tolist()]
    path.write_text("\n".join(header + body) + "\n")
    return path


def grid(n: int = 4) -> torch.Tensor:
    """n^3 points with spacing 1."""
    axis = torch.arange(float(n))
    return torch.stack(torch.meshgrid(axis, axis, axis, indexing="ij"), -1).reshape(-1, 3)


def run_json(*args: str) -> list[dict]:
    result = runner.invoke(app, ["chamfer", *args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_json_structure_and_identical_meshes(tmp_path):
    (pair,) = run_json(str(COW), str(COW), "--samples", "2000", "--normals", "--tau", "0.01")
    assert pair["a"] == pair["b"] == str(COW)
    assert pair["points_a"] == pair["points_b"] == 2000
    for key in ("chamfer", "chamfer_a_to_b", "chamfer_b_to_a", "mean_distance_a_to_b",
                "mean_distance_b_to_a"):
        assert pair[key] == 0.0
    assert pair["normal_consistency"] == pytest.approx(1.0)
    assert pair["tau"] == 0.01 and pair["precision"] == pair["recall"] == pair["fscore"] == 1.0


def test_shifted_cloud_gives_the_shift(tmp_path):
    a = write_ply(tmp_path / "a.ply", grid())
    b = write_ply(tmp_path / "b.ply", grid() + torch.tensor([0.1, 0, 0]))
    c = write_ply(tmp_path / "c.ply", grid() + torch.tensor([0, 0, -0.2]))
    first, second = run_json(str(a), str(b), str(a), str(c))
    assert first["b"] == str(b) and second["b"] == str(c)
    assert first["points_a"] == 64 and "normal_consistency" not in first and "tau" not in first
    assert first["chamfer_a_to_b"] == pytest.approx(0.01, rel=1e-5)
    assert first["chamfer_b_to_a"] == pytest.approx(0.01, rel=1e-5)
    assert first["chamfer"] == pytest.approx(0.02, rel=1e-5)
    assert first["mean_distance_a_to_b"] == pytest.approx(0.1, rel=1e-5)
    assert second["chamfer"] == pytest.approx(0.08, rel=1e-5)
    assert second["mean_distance_b_to_a"] == pytest.approx(0.2, rel=1e-5)


def test_fscore_at_tau(tmp_path):
    a = write_ply(tmp_path / "a.ply", grid())
    outliers = torch.full((16, 3), 100.0) + torch.arange(16.0)[:, None]
    b = write_ply(tmp_path / "b.ply", torch.cat([grid() + 0.1, outliers]))
    # each point of a is 0.1 * sqrt(3) from b; 16 of b's 80 points are far from a
    (pair,) = run_json(str(a), str(b), "--tau", "0.2")
    assert pair["precision"] == 1.0 and pair["recall"] == pytest.approx(0.8)
    assert pair["fscore"] == pytest.approx(2 * 0.8 / 1.8)
    (pair,) = run_json(str(a), str(b), "--tau", "0.1")
    assert pair["precision"] == pair["recall"] == pair["fscore"] == 0.0


def test_cloud_normals_and_missing_normals(tmp_path):
    up = torch.tensor([[0.0, 0, 1]]).expand(64, 3)
    a = write_ply(tmp_path / "a.ply", grid(), up)
    b = write_ply(tmp_path / "b.ply", grid() + 0.1, -up)
    (pair,) = run_json(str(a), str(b), "--normals")
    assert pair["normal_consistency"] == pytest.approx(1.0)  # orientation is ignored
    bare = write_ply(tmp_path / "bare.ply", grid())
    result = runner.invoke(app, ["chamfer", str(a), str(bare), "--normals"])
    assert result.exit_code == 2 and "bare.ply" in result.output and "normals" in result.output


def test_table_output(tmp_path):
    a = write_ply(tmp_path / "a.ply", grid())
    result = runner.invoke(app, ["chamfer", str(a), str(a), "--tau", "0.5"])
    assert result.exit_code == 0, result.output
    assert "chamfer (sum)" in result.output and "F-score" in result.output


def test_odd_number_of_files_exits_2(tmp_path):
    a = write_ply(tmp_path / "a.ply", grid())
    result = runner.invoke(app, ["chamfer", str(a), str(a), str(a)])
    assert result.exit_code == 2 and "pairs" in result.output


@pytest.mark.parametrize("args", [["--tau", "-1"], ["--device", "tpu"]])
def test_bad_options_exit_2(tmp_path, args):
    a = write_ply(tmp_path / "a.ply", grid())
    result = runner.invoke(app, ["chamfer", str(a), str(a), *args])
    assert result.exit_code == 2


@pytest.mark.parametrize("name", ["missing.obj", "edge_cases/empty.ply"])
def test_bad_file_exits_2_with_one_line(r3d_exe, name):
    out = subprocess.run([r3d_exe, "chamfer", str(COW), str(DATA / name), "--samples", "100"],
                         capture_output=True, text=True)
    assert out.returncode == 2 and out.stdout == ""
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and name.split("/")[-1] in lines[0]


def test_console_script_json_is_alone_on_stdout(r3d_exe, tmp_path):
    a = write_ply(tmp_path / "a.ply", grid())
    out = subprocess.run([r3d_exe, "chamfer", str(a), str(COW), "--samples", "500", "--json"],
                         capture_output=True, text=True, check=True)
    (pair,) = json.loads(out.stdout)
    assert pair["points_a"] == 64 and pair["points_b"] == 500 and pair["chamfer"] > 0
