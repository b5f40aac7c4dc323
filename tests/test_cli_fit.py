"""``r3d fit`` end to end on tiny views: a run with --recipe/--set/--out/--json, the summary,
--resume after an interruption (exit 130), and bad input (exit 2, one line naming the problem)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

import r3d.cli.fit as cli_fit
from r3d.cli.main import app
from r3d.renderer import (
    FoVPerspectiveCameras,
    MeshRasterizer,
    RasterizationSettings,
    look_at_view_transform,
)
from r3d.utils import ico_sphere
from r3d.views import save_views

runner = CliRunner()
SIZE = 32
# a tiny recipe: most of it from the file, some from --set
RECIPE = """\
views: {image_size: 32, per_iteration: 2, holdout: 1}
init: {level: 1, radius: 0.6}
renderer: {faces_per_pixel: 4, sigma: 1.0e-3, gamma: 1.0e-3}
optim: {lr: 0.05, schedule: constant}
stages: []
outputs: {every: 2, checkpoint_every: 2}
"""


@pytest.fixture(scope="module")
def views(tmp_path_factory) -> Path:
    """Four 32 px views of a squashed sphere (RGBA PNGs, cameras.json)."""
    folder = tmp_path_factory.mktemp("views")
    mesh = ico_sphere(1)
    mesh = mesh.update_padded(mesh.verts_padded() * torch.tensor([1.0, 0.6, 0.8]))
    R, T = look_at_view_transform(dist=3.0, elev=[10.0, 30.0, -15.0, 45.0],
                                  azim=[0.0, 90.0, 180.0, 270.0])
    cameras = FoVPerspectiveCameras(fov=50.0, R=R, T=T)
    raster = MeshRasterizer(raster_settings=RasterizationSettings(image_size=SIZE))
    masks = (raster(mesh.extend(4), cameras=cameras).pix_to_face[..., 0] >= 0).float()
    save_views(folder, masks[..., None].expand(-1, -1, -1, 3) * 0.7, masks, cameras)
    return folder


@pytest.fixture
def recipe(tmp_path) -> Path:
    path = tmp_path / "tiny.yaml"
    path.write_text(RECIPE)
    return path


def run(*args: str):
    return runner.invoke(app, ["fit", *args])


def one_error_line(result) -> str:
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error:"), lines[0]
    return lines[0]


# ---- runs ----------------------------------------------------------------------------------------


def test_fit_json(views, recipe, tmp_path):
    out = tmp_path / "out"
    result = run("--views", str(views), "--recipe", str(recipe), "--out", str(out),
                 "--set", "iterations=3", "--set", "losses.normal=0", "--json")
    assert result.exit_code == 0, result.output
    metrics = json.loads(result.stdout)
    assert metrics["iterations"] == 3 and metrics["iterations_run"] == 3
    assert metrics["scored_views"] == "held_out" and len(metrics["views"]) == 1
    assert 0 <= metrics["mean_iou"] <= 1
    assert set(metrics["final_loss"]) == {"total", "silhouette", "edge", "laplacian"}
    assert metrics == json.loads((out / "metrics.json").read_text())
    for name in metrics["files"]:
        assert Path(name).is_file() and Path(name).parent == out.resolve(), name
    for name in ("fit.obj", "comparison.png", "progress.gif", "loss.png", "recipe.yaml",
                 "checkpoint.pt", "inputs.json"):
        assert (out / name).is_file(), name
    # the resolved recipe: the file's keys, the --set ones and --out
    written = (out / "recipe.yaml").read_text()
    assert "iterations: 3" in written and f"dir: {out.resolve()}" in written
    assert "faces_per_pixel: 4" in written and "normal: 0" in written
    inputs = json.loads((out / "inputs.json").read_text())
    assert inputs["views"] == str(views.resolve())


def test_interrupt_then_resume(views, recipe, tmp_path, monkeypatch):
    out = tmp_path / "run"
    real_fit = cli_fit.run_fit

    def interrupted(the_recipe, progress=None, **kwargs):
        def stop(done, total, losses):
            progress(done, total, losses)
            if done == 3:
                raise KeyboardInterrupt

        return real_fit(the_recipe, progress=stop, **kwargs)

    monkeypatch.setattr(cli_fit, "run_fit", interrupted)
    result = run("--views", str(views), "--recipe", str(recipe), "--out", str(out),
                 "--set", "iterations=4")
    assert result.exit_code == 130, result.output
    # (rich wraps the line at the console width: compared without whitespace)
    want = f"resume from iteration 2 with --resume {out.resolve()}"
    assert "".join(want.split()) in "".join(result.stderr.split()), result.stderr
    assert not (out / "metrics.json").exists()

    monkeypatch.setattr(cli_fit, "run_fit", real_fit)
    # --resume reads the recipe and the inputs back from the folder: no --views needed
    result = run("--resume", str(out))
    assert result.exit_code == 0, result.output
    assert "fit done: 4 iterations" in result.stdout
    assert "held-out IoU" in result.stdout
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["iterations"] == 4 and metrics["iterations_run"] == 2
    assert f"wrote {len(metrics['files'])} files to {out.resolve()}" in \
        " ".join(result.stdout.split())


def test_interrupt_message_keeps_the_path_whole(views, recipe, tmp_path, monkeypatch):
    out = tmp_path / "a_folder_with_a_rather_long_name_for_the_output_of_this_run"

    def interrupted(the_recipe, progress=None, **kwargs):
        raise cli_fit.FitInterrupted(the_recipe.outputs.dir, 2)

    monkeypatch.setattr(cli_fit, "run_fit", interrupted)
    result = run("--views", str(views), "--recipe", str(recipe), "--out", str(out))
    assert result.exit_code == 130
    assert f"--resume {out.resolve()}" in result.stderr


def test_resume_with_more_iterations(views, recipe, tmp_path):
    out = tmp_path / "more"
    result = run("--views", str(views), "--recipe", str(recipe), "--out", str(out),
                 "--set", "iterations=2", "--set", "outputs.gif=false", "--json")
    assert result.exit_code == 0, result.output
    result = run("--resume", str(out), "--set", "iterations=3", "--json")
    assert result.exit_code == 0, result.output
    metrics = json.loads(result.stdout)
    assert metrics["iterations"] == 3 and metrics["iterations_run"] == 1


# ---- bad input -----------------------------------------------------------------------------------


def test_unknown_key_in_recipe_exits_2(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("iterations: 5\noptim: {lrr: 0.1}\n")
    result = run("--recipe", str(bad))
    assert result.exit_code == 2
    line = one_error_line(result)
    assert "unknown key 'lrr' in optim" in line and "did you mean 'lr'?" in line
    assert "bad.yaml" in line
    assert not (tmp_path / "fit_bad").exists()


def test_unknown_key_in_set_exits_2(tmp_path):
    result = run("--set", "iteration=5", "--out", str(tmp_path / "o"))
    assert result.exit_code == 2
    assert "did you mean 'iterations'?" in one_error_line(result)


@pytest.mark.parametrize("item", ["optim.lr", "=3", "a..b=1"])
def test_malformed_set_exits_2(item, tmp_path):
    result = run("--set", item, "--out", str(tmp_path / "o"))
    assert result.exit_code == 2
    assert "--set takes key.path=value" in one_error_line(result)
    assert not (tmp_path / "o").exists()


def test_bad_value_in_set_exits_2(tmp_path):
    result = run("--set", "optim.schedule=cosin", "--out", str(tmp_path / "o"))
    assert result.exit_code == 2
    assert "did you mean 'cosine'?" in one_error_line(result)


def test_missing_recipe_file_exits_2(tmp_path):
    result = run("--recipe", str(tmp_path / "nope.yaml"))
    assert result.exit_code == 2
    assert "nope.yaml: no such file" in one_error_line(result)


def test_missing_views_folder_exits_2(tmp_path, recipe):
    missing = tmp_path / "no_views"
    result = run("--views", str(missing), "--recipe", str(recipe), "--out",
                 str(tmp_path / "o"))
    assert result.exit_code == 2
    line = one_error_line(result)
    assert str(missing) in line and "no such folder of views" in line


def test_views_folder_without_cameras_exits_2(tmp_path, recipe):
    folder = tmp_path / "empty_views"
    folder.mkdir()
    result = run("--views", str(folder), "--recipe", str(recipe), "--out",
                 str(tmp_path / "o"))
    assert result.exit_code == 2
    line = one_error_line(result)
    assert "cameras.json" in line and "transforms.json" in line


def test_target_with_a_views_recipe_exits_2(tmp_path, views, recipe):
    target = tmp_path / "t.ply"
    target.write_text("ply\n")
    result = run("--views", str(views), "--target", str(target), "--recipe", str(recipe),
                 "--out", str(tmp_path / "o"))
    assert result.exit_code == 2
    assert "--target is for recipes with input: target" in one_error_line(result)


def test_holdout_too_large_exits_2(tmp_path, views, recipe):
    result = run("--views", str(views), "--recipe", str(recipe), "--set", "views.holdout=4",
                 "--out", str(tmp_path / "o"))
    assert result.exit_code == 2
    assert "views.holdout is 4 but there are only 4 views" in one_error_line(result)


def test_resume_without_a_run_exits_2(tmp_path):
    folder = tmp_path / "not_a_run"
    folder.mkdir()
    result = run("--resume", str(folder))
    assert result.exit_code == 2
    line = one_error_line(result)
    assert "recipe.yaml" in line and "--resume takes the output folder" in line


def test_resume_with_a_broken_checkpoint_exits_2(views, recipe, tmp_path):
    out = tmp_path / "broken"
    result = run("--views", str(views), "--recipe", str(recipe), "--out", str(out),
                 "--set", "iterations=1", "--set", "outputs.gif=false", "--json")
    assert result.exit_code == 0, result.output
    (out / "checkpoint.pt").write_bytes(b"garbage")
    result = run("--resume", str(out))
    assert result.exit_code == 2
    assert "not an r3d fit checkpoint" in one_error_line(result)


def test_console_script_bad_recipe(tmp_path, r3d_exe):
    bad = tmp_path / "bad.yaml"
    bad.write_text("iteration: 5\n")
    out = subprocess.run([r3d_exe, "fit", "--recipe", str(bad)], capture_output=True,
                         text=True, cwd=tmp_path)
    assert out.returncode == 2 and out.stdout == ""
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:")
    assert "unknown key 'iteration'" in lines[0] and "'iterations'" in lines[0]
