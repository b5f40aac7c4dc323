"""``r3d fit`` end to end on tiny views: a run with --recipe/--set/--out/--json, the summary,
--resume after an interruption (exit 130), and bad input (exit 2, one line naming the problem)."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

import r3d.fit.run as fit_run
from r3d.cli.main import app
from r3d.fit.example import COW
from r3d.fit.recipe import load_recipe
from r3d.renderer import (
    FoVPerspectiveCameras,
    MeshRasterizer,
    RasterizationSettings,
    look_at_view_transform,
)
from r3d.runs.outdir import MARKER
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
    real_fit = fit_run.fit

    def interrupted(the_recipe, progress=None, **kwargs):
        def stop(done, total, losses):
            progress(done, total, losses)
            if done == 3:
                raise KeyboardInterrupt

        return real_fit(the_recipe, progress=stop, **kwargs)

    monkeypatch.setattr(fit_run, "fit", interrupted)
    result = run("--views", str(views), "--recipe", str(recipe), "--out", str(out),
                 "--set", "iterations=4")
    assert result.exit_code == 130, result.output
    # (rich wraps the line at the console width: compared without whitespace)
    want = f"resume from iteration 2 with --resume {out.resolve()}"
    assert "".join(want.split()) in "".join(result.stderr.split()), result.stderr
    assert not (out / "metrics.json").exists()

    monkeypatch.setattr(fit_run, "fit", real_fit)
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
        raise fit_run.FitInterrupted(the_recipe.outputs.dir, 2)

    monkeypatch.setattr(fit_run, "fit", interrupted)
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


# ---- frames and scores ---------------------------------------------------------------------------

# the bundled example, tiny: 3 views of 32 px, one held out, 2 iterations from an ico-sphere of
# level 0 (the default stages at fractions of the run subdivide it twice)
EXAMPLE = ["--set", "example.views=3", "--set", "example.image_size=32", "--set",
           "views.holdout=1", "--set", "views.image_size=32", "--set", "iterations=2", "--set",
           "init.level=0", "--set", "renderer.faces_per_pixel=4", "--set", "outputs.gif=false"]


def test_metrics_are_what_r3d_chamfer_gives_on_the_written_files(tmp_path):
    """metrics.json's surface scores are r3d chamfer's on fit.obj and the cow's file, and a
    fit of the example's views with the cow as --gt is the same fit in the same frame."""
    out = tmp_path / "ex"
    result = run("--out", str(out), *EXAMPLE, "--json")
    assert result.exit_code == 0, result.output
    surface = json.loads(result.stdout)["surface"]
    check = runner.invoke(app, ["chamfer", str(COW), str(out / "fit.obj"), "--tau", "0.05",
                                "--json"])
    assert check.exit_code == 0, check.output
    scores = json.loads(check.stdout)[0]
    assert surface["chamfer_l2"] == scores["chamfer"]
    assert surface["f_score@0.05"] == scores["fscore"]
    again = run("--views", str(out / "example_views"), "--gt", str(COW), "--out",
                str(tmp_path / "again"), *EXAMPLE, "--json")
    assert again.exit_code == 0, again.output
    assert json.loads(again.stdout)["surface"] == surface


def test_report_html(tmp_path):
    """report.html holds the scores, every held-out view as input | fit, the fit and the
    ground truth in the viewer, the loss curves, the recipe and the machine, and is listed
    with the run's files."""
    out = tmp_path / "rep"
    result = run("--out", str(out), *EXAMPLE, "--set", "example.views=4",
                 "--set", "views.holdout=2", "--json")
    assert result.exit_code == 0, result.output
    metrics = json.loads(result.stdout)
    assert str(out.resolve() / "report.html") in metrics["files"]
    page = (out / "report.html").read_text()
    assert page.count('<figure class="r3d-pair">') == len(metrics["views"]) == 2
    for view in metrics["views"]:
        assert f"{view['view']}: input | fit" in page
    assert len(re.findall(r'<div class="r3d-viewer" data-config="r3d-config-\d+">', page)) == 1
    config = json.loads(page.split('<script type="application/json" id="r3d-config-')[1]
                        .split(">", 1)[1].split("</script>")[0])
    names = [item["name"] for item in config["items"]]
    assert names == ["fit: fit.obj", "ground truth: cow.obj"]
    assert all(item["glb"] for item in config["items"])
    assert config["items"][1]["opacity"] < 1
    assert '<polyline class="r3d-series"' in page and "weighted losses" in page
    assert f"{metrics['mean_iou']:.5g}" in page
    assert "init:" in page and "Machine" in page and "torch_threads" in page
    assert "https://" not in page.split("<script>", 1)[0]  # nothing fetched: no link in the head


def test_quick(tmp_path):
    out = tmp_path / "q"
    result = run("--quick", "--out", str(out), *EXAMPLE, "--set", "iterations=3",
                 "--set", "views.image_size=64")
    assert result.exit_code == 0, result.output
    written = load_recipe(out / "recipe.yaml")
    assert written.iterations == 3 and written.views.image_size == 32
    assert [s.at for s in written.stages] == [1, 2]
    assert [s.image_size for s in written.stages] == [32, None]
    help_text = " ".join(run("--help").stdout.split())
    assert "--quick" in help_text and "at most 100 iterations" in help_text


# ---- output folders ------------------------------------------------------------------------------


def test_a_folder_with_an_earlier_run(views, recipe, tmp_path):
    """Refused without --overwrite; --overwrite replaces the earlier run's files (none of
    them stays), and refuses a folder holding files no r3d run wrote."""
    out = tmp_path / "o"
    args = ["--views", str(views), "--recipe", str(recipe), "--out", str(out), "--set",
            "iterations=1"]
    assert run(*args).exit_code == 0
    assert (out / "progress.gif").is_file()
    again = run(*args, "--set", "outputs.gif=false")
    assert again.exit_code == 2
    line = one_error_line(again)
    assert str(out.resolve()) in line and "--overwrite" in line
    result = run(*args, "--set", "outputs.gif=false", "--overwrite", "--json")
    assert result.exit_code == 0, result.output
    assert not (out / "progress.gif").exists()
    files = {Path(f).name for f in json.loads(result.stdout)["files"]}
    assert {p.name for p in out.iterdir()} == files | {MARKER}
    (out / "notes.txt").write_text("mine")
    result = run(*args, "--overwrite")
    assert result.exit_code == 2 and "notes.txt" in one_error_line(result)
    assert (out / "notes.txt").read_text() == "mine" and (out / "fit.obj").is_file()


def test_overwrite_will_not_delete_the_views(tmp_path):
    out = tmp_path / "ex"
    assert run("--out", str(out), *EXAMPLE).exit_code == 0
    result = run("--views", str(out / "example_views"), "--out", str(out), "--overwrite",
                 *EXAMPLE)
    assert result.exit_code == 2
    assert "an input of this run" in one_error_line(result)
    assert (out / "example_views" / "cameras.json").is_file()


def test_a_failed_run_leaves_no_folder(tmp_path):
    """The example's views are rendered, then the recipe fails: nothing is left."""
    out = tmp_path / "deeper" / "o"
    result = run("--out", str(out), *EXAMPLE, "--set", "views.holdout=3")
    assert result.exit_code == 2
    assert "views.holdout is 3 but there are only 3 views" in one_error_line(result)
    assert not (tmp_path / "deeper").exists()


def test_out_below_a_file_exits_2(tmp_path, views, recipe):
    afile = tmp_path / "afile.txt"
    afile.write_text("x")
    result = run("--views", str(views), "--recipe", str(recipe), "--out", str(afile / "sub"))
    assert result.exit_code == 2
    assert f"{afile} is a file, not a folder" in one_error_line(result)


@pytest.mark.parametrize("flag", ["--overwrite", "--quick"])
def test_resume_with_a_new_run_flag_exits_2(tmp_path, flag):
    result = run("--resume", str(tmp_path), flag)
    assert result.exit_code == 2
    assert f"{flag} cannot be given with it" in one_error_line(result)


@pytest.mark.parametrize("items, message", [
    (["iterations=abc"], "error: --set iterations=abc: iterations must be a positive int, "
                         "got 'abc'"),
    (["losses.silhouette=0"], "error: the default recipe with --set losses.silhouette=0: "
                              "input: views needs"),
])
def test_set_errors_name_the_set(tmp_path, items, message):
    result = run(*[a for item in items for a in ("--set", item)], "--out", str(tmp_path / "o"))
    assert result.exit_code == 2
    line = one_error_line(result)
    assert line.startswith(message) and "<" not in line and str(Path.cwd()) not in line
