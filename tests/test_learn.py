"""Single-view shape learning: recipes, training (2D / 3D supervision, meshes / points),
resume, evaluation with baselines, the CLI, and two processes under torchrun in sync."""

from __future__ import annotations

import dataclasses
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from html_pages import data_images, decoded, read_page, viewer_items
from PIL import Image
from typer.testing import CliRunner

from r3d.cli.main import app
from r3d.errors import FileFormatError, InputError
from r3d.learn.evaluate import evaluate
from r3d.learn.predictor import ShapePredictor
from r3d.learn.recipe import load_train_recipe
from r3d.learn.scores import shape_scores
from r3d.learn.train import (
    CHECKPOINT,
    TrainInterrupted,
    load_items,
    losses,
    make_batch,
    resume_recipe,
    train,
)
from r3d.runs.outdir import run_files

RECIPES = Path(__file__).resolve().parents[1] / "recipes"
runner = CliRunner()


def tiny(tmp: Path, data: Path, *extra: str):
    """A recipe small enough to train in about a second."""
    return load_train_recipe(None, [
        f"data.root={data}", "data.families=[chair, mug]", "data.shapes_per_family=6",
        "data.views=3", "data.views_per_item=2", "data.image_size=24",
        "network.widths=[8, 16]", "network.hidden=16",
        "network.stages=2", "network.level=0", "network.points=64",
        "renderer.faces_per_pixel=4", "optim.batch_size=2", "optim.epochs=2",
        "outputs.checkpoint_every=2", f"outputs.dir={tmp}", *extra])


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("data") / "shapes"
    train(tiny(tmp_path_factory.mktemp("warm"), root, "optim.epochs=1"))  # makes the dataset
    return root


def test_default_recipe_is_shape_mesh_2d():
    a, b = load_train_recipe(RECIPES / "shape_mesh_2d.yaml"), load_train_recipe(None)
    a = dataclasses.replace(a, outputs=b.outputs,
                            data=dataclasses.replace(a.data, root=b.data.root))
    assert a == b
    assert load_train_recipe(RECIPES / "shape_mesh_3d.yaml").supervision == "3d"
    assert load_train_recipe(RECIPES / "shape_points_2d.yaml").model == "points"


@pytest.mark.parametrize("items, pattern", [
    (["supervision=3d", "losses.chamfer=0"], "needs losses.chamfer > 0"),
    (["losses.iou=0"], "needs losses.silhouette or losses.iou > 0"),
    (["supervision=3d", "losses.rgb=1"], "losses.rgb needs supervision: 2d"),
    (["losses.iou=-1"], "losses.iou must be a number >= 0"),
    (["data.views_per_item=9"], r"views_per_item \(9\) is more than"),
    (["data.families=[chiar]"], "data.families must be a list of families"),
    (["optim.lrr=1"], "did you mean 'lr'"),
    (["optim.weight_decay=-1"], "optim.weight_decay must be a number >= 0"),
    (["optim.final_lr=2"], r"optim.final_lr must be a fraction of optim.lr in \(0, 1\]"),
    (["network.widths=[8, 0]"], "network.widths must be a list of positive ints"),
    (["model=voxels"], "model must be one of mesh, points"),
])
def test_recipe_errors(items, pattern):
    with pytest.raises(InputError, match=pattern):
        load_train_recipe(None, items)


@pytest.mark.parametrize("extra, keys", [
    ([], ["iou", "edge"]),
    (["supervision=3d"], ["chamfer", "laplacian"]),
    (["model=points"], ["iou"]),
    (["losses.silhouette=1", "losses.iou=0", "losses.rgb=1"], ["silhouette", "rgb", "normal"]),
    (["model=points", "losses.silhouette=1", "losses.rgb=1"], ["silhouette", "iou", "rgb"]),
], ids=["mesh-2d", "mesh-3d", "points-2d", "mesh-mse-rgb", "points-both-rgb"])
def test_training_writes_its_outputs(tmp_path, data, extra, keys):
    out = tmp_path / "run"
    summary = train(tiny(out, data, *extra))
    assert summary["iterations"] == 8 and summary["world_size"] == 1  # 8 shapes, batch 2
    for name in (CHECKPOINT, "log.csv", "loss.png", "recipe.yaml", "train.json"):
        assert (out / name).is_file(), name
    assert set(summary["final_loss"]) == {"total", *keys} | (
        {"edge", "laplacian", "normal"} if "model=points" not in extra else set())
    header = (out / "log.csv").read_text().splitlines()[0].split(",")
    assert header[:2] == ["iteration", "total"] and set(keys) <= set(header)


def _fixed_batch_loss(recipe, weights, key: str) -> float:
    """Loss term ``key`` of the predictor (untrained: None) on a fixed batch of every
    training shape with all its views."""
    model = ShapePredictor.for_recipe(recipe)
    if weights is not None:
        model.load_state_dict(weights)
    model.eval()
    items = load_items(recipe.data.root, "train", torch.device("cpu"))
    batch = make_batch(items, recipe.data.views_per_item, torch.Generator().manual_seed(0),
                       torch.device("cpu"))
    with torch.no_grad():
        prediction = model(batch.images, batch.R, batch.T, batch.fov)
        return float(losses(recipe, prediction, batch)[key])


@pytest.mark.parametrize("extra, key", [
    ([], "iou"),
    (["losses.silhouette=1", "losses.iou=0"], "silhouette"),
    (["losses.rgb=5"], "rgb"),
    (["model=points", "losses.rgb=5", "renderer.radius=0.1"], "rgb"),  # ~1 px at 24 px
], ids=["iou", "silhouette", "mesh-rgb", "points-rgb"])
def test_training_reduces_the_2d_loss(tmp_path, data, extra, key):
    out = tmp_path / "run"
    recipe = tiny(out, data, "optim.epochs=12", "optim.lr=0.003", "data.views_per_item=3",
                  "network.level=1", *extra)
    train(recipe)
    trained = torch.load(out / CHECKPOINT, weights_only=True)["model"]
    assert _fixed_batch_loss(recipe, trained, key) < 0.9 * _fixed_batch_loss(recipe, None, key)


def test_learning_rate_decays_to_final_lr(tmp_path, data):
    train(tiny(tmp_path, data, "optim.lr=0.01", "optim.final_lr=0.1"))  # 8 iterations
    groups = torch.load(tmp_path / CHECKPOINT, weights_only=True)["optimizer"]["param_groups"]
    # the last step (iteration 7 of 8) ran at 0.1 + 0.9 * (1 + cos(7 pi / 8)) / 2 of lr
    assert groups[0]["lr"] == pytest.approx(0.01 * (0.1 + 0.45 * (1 + math.cos(7 * math.pi / 8))))


def test_resume_gives_the_uninterrupted_result(tmp_path, data):
    full, parts = tmp_path / "full", tmp_path / "parts"
    extra = ("optim.epochs=4", "optim.final_lr=0.5", "outputs.eval_every=3")
    train(tiny(full, data, *extra))

    def stop(done, total, losses):
        if done == 3:
            raise KeyboardInterrupt

    with pytest.raises(TrainInterrupted) as info:
        train(tiny(parts, data, *extra), progress=stop)
    assert info.value.iteration == 2
    train(resume_recipe(parts), resume=True)
    a = torch.load(full / CHECKPOINT, weights_only=True)
    b = torch.load(parts / CHECKPOINT, weights_only=True)
    assert a["iteration"] == b["iteration"] == 16
    assert a["validation"] == b["validation"] and len(a["validation"]) == 6
    for name, value in a["model"].items():
        assert torch.equal(value, b["model"][name]), name


def test_resume_refuses_a_different_network(tmp_path, data):
    train(tiny(tmp_path, data))
    with pytest.raises(InputError, match="weights do not fit the recipe"):
        train(resume_recipe(tmp_path, ["losses.rgb=1"]), resume=True)


def test_validation_needs_a_val_split(tmp_path):
    one_shape = tiny(tmp_path / "run", tmp_path / "data", "data.shapes_per_family=1")
    with pytest.raises(InputError, match="val split is empty.*set it to 0"):
        train(one_shape)
    assert train(dataclasses.replace(one_shape, outputs=dataclasses.replace(
        one_shape.outputs, eval_every=0)))["validation"] is None


def test_shape_scores_of_identical_shapes():
    points = torch.rand(200, 3) * 10
    normals = torch.nn.functional.normalize(torch.randn(200, 3), dim=1)
    scores = shape_scores(points, normals, points, normals)
    assert scores["chamfer_l2"] == 0 and scores["normal_consistency"] == pytest.approx(1.0)
    assert all(scores[f"f1@{t}"] == pytest.approx(100.0) for t in (0.1, 0.3, 0.5))
    far = shape_scores(points + 5.0, None, points, normals)
    assert far["f1@0.1"] == 0 and far["chamfer_l2"] > 1 and "normal_consistency" not in far


def test_evaluate_with_baselines(tmp_path, data):
    out = tmp_path / "run"
    train(tiny(out, data))
    result = evaluate(out / CHECKPOINT, data, split="train", out=tmp_path / "eval")
    assert set(result["methods"]) == {"model", "sphere", "nearest"}
    overall = result["methods"]["nearest"]["overall"]
    # on the training split the nearest training shape is the shape itself
    assert overall["f1@0.5"] > 95
    assert set(result["methods"]["model"]["per_family"]) == {"chair", "mug"}
    assert (tmp_path / "eval" / "eval.json").is_file()
    assert (tmp_path / "eval" / "eval.png").is_file()


def test_validation_curves_score_as_r3d_eval(tmp_path, data):
    """Every eval_every iterations and at the end the val split is scored; the last row is
    what r3d eval reports for the final checkpoint on that split; resume keeps the rows."""
    out = tmp_path / "run"
    summary = train(tiny(out, data, "outputs.eval_every=3"))
    rows = (out / "metrics.csv").read_text().splitlines()
    assert rows[0].split(",")[:2] == ["iteration", "chamfer_l2"] and "f1@0.3" in rows[0]
    assert [int(r.split(",")[0]) for r in rows[1:]] == [3, 6, 8]
    assert (out / "metrics.png").is_file()
    last = summary["validation"]
    result = evaluate(out / CHECKPOINT, data, split="val", baselines=False,
                      out=tmp_path / "eval")
    assert {"iteration": 8, **result["methods"]["model"]["overall"]} == last
    assert torch.load(out / CHECKPOINT, weights_only=True)["validation"][-1] == last
    assert train(tiny(tmp_path / "none", data, "outputs.eval_every=0"))["validation"] is None
    assert not (tmp_path / "none" / "metrics.csv").exists()


def test_evaluate_errors(tmp_path, data):
    with pytest.raises(FileFormatError, match="no checkpoint"):
        evaluate(tmp_path / "none.pt", data)
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(FileFormatError, match="not an r3d training checkpoint"):
        evaluate(bad, data)


def test_cli_train_and_eval(tmp_path, data):
    out = tmp_path / "run"
    recipe = tmp_path / "r.yaml"
    recipe.write_text(f"data: {{root: {data}, families: [chair, mug], shapes_per_family: 6, "
                      "views: 3, views_per_item: 2, image_size: 24}\n"
                      "network: {widths: [8], hidden: 8, stages: 1, level: 0}\n"
                      "optim: {batch_size: 2, epochs: 1}\n"
                      f"outputs: {{dir: {out}}}\n")
    result = runner.invoke(app, ["train", str(recipe), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["iterations"] == 4
    result = runner.invoke(app, ["eval", str(out / CHECKPOINT), "--data", str(data),
                                 "--split", "train", "--no-baselines"])
    assert result.exit_code == 0, result.output
    assert "chamfer_l2" in result.stdout and "model" in result.stdout
    # eval's files join the training's run: a later --overwrite of it replaces them too
    files = run_files(out)
    assert files["command"] == "r3d train" and {"eval.json", "eval.png"} <= set(files["files"])
    result = runner.invoke(app, ["train", str(recipe), "--overwrite"])
    assert result.exit_code == 0, result.output
    assert not (out / "eval.json").exists()
    result = runner.invoke(app, ["train", "--set", "optim.lrr=1"])
    assert result.exit_code == 2 and "did you mean 'lr'" in result.output


def test_report_of_the_training_then_of_its_evaluation(tmp_path, data):
    """The training writes report.html (curves, recipe, train.json); r3d eval rewrites it with
    its scores, the inputs beside the predictions and predicted shapes in the viewer."""
    out = tmp_path / "run"
    summary = train(tiny(out, data, "outputs.eval_every=3", "outputs.log_every=1"))
    page = read_page(out / "report.html")
    assert page.title == "r3d train"
    assert page.headings == ["Scores", "Training losses",
                             "Validation scores (as r3d eval scores them)", "Recipe",
                             "Training summary (train.json)", "Timings", "Machine"]
    assert page.charts == [["total", "iou", "edge", "laplacian", "normal"], ["total"],
                           ["F1@0.1", "F1@0.3", "F1@0.5"], ["Chamfer-L2"]]
    assert page.polylines >= 10 and not page.viewers and not data_images(page)
    last = summary["validation"]
    for value in (summary["seconds"], summary["final_loss"]["iou"], last["chamfer_l2"]):
        assert f"{value:.5g}" in page.cells
    assert "report.html" in run_files(out)["files"]

    result = evaluate(out / CHECKPOINT, data, split="train")
    assert result["files"][-1] == str(out / "report.html")
    page = read_page(out / "report.html")
    assert page.title == "r3d train · r3d eval"
    assert page.headings[:4] == ["Scores", "r3d eval: 8 train shapes (mesh, 2d supervision)",
                                 "Predictions: the input view | the prediction seen from it",
                                 "Predicted shapes"]
    assert "Training losses" in page.headings  # the training's curves, from the checkpoint
    images = data_images(page)
    assert len(images) == 2 * 8  # input and prediction of each of the 8 shapes
    with Image.open(out / "eval.png") as picture:
        rows = np.asarray(picture)
    first = decoded(images[0])  # the first input, enlarged 6 times (24 to 144 pixels)
    assert first.shape == (144, 144, 3) and (first[::6, ::6] == rows[:24, :24]).all()
    items = viewer_items(page)
    assert len(items) == 8 and [i["kind"] for i in items] == ["mesh"] * 8
    assert items[0]["name"].endswith(": prediction") and items[1]["name"].endswith(": truth")
    overall = result["methods"]["model"]["overall"]
    assert f"{overall['chamfer_l2']:.5g}" in page.cells and "nearest" in page.cells
    assert {"eval.json", "eval.png", "report.html"} <= set(run_files(out)["files"])


def test_report_escapes_the_recipe_file_name(tmp_path, data):
    recipe = tmp_path / '<script>alert("r").yaml'
    recipe.write_text(f"data: {{root: {data}, families: [chair, mug], shapes_per_family: 6, "
                      "views: 3, views_per_item: 2, image_size: 24}\n"
                      "network: {widths: [8], hidden: 8, stages: 1, level: 0}\n"
                      "optim: {batch_size: 4, epochs: 1}\n")
    result = runner.invoke(app, ["train", str(recipe)])
    assert result.exit_code == 0, result.output
    # the default output folder is named after the recipe: in the heading and the recipe
    text = (tmp_path / 'train_<script>alert("r")' / "report.html").read_text()
    assert "<script>alert" not in text
    assert text.count("train_&lt;script&gt;alert(&quot;r&quot;)") >= 2


def test_a_second_training_into_the_folder(tmp_path, data):
    """Refused without --overwrite; with it, the earlier run's files are replaced (its
    validation scores do not stay beside a run without validation)."""
    out = tmp_path / "run"
    train(tiny(out, data, "optim.epochs=1"))
    assert (out / "metrics.csv").is_file()
    items = [f"data.root={data}", "data.families=[chair, mug]", "data.shapes_per_family=6",
             "data.views=3", "data.views_per_item=2", "data.image_size=24",
             "network.widths=[8]", "network.hidden=8", "network.stages=1", "network.level=0",
             "optim.batch_size=2", "optim.epochs=1", "outputs.eval_every=0",
             f"outputs.dir={out}"]
    args = ["train", *[a for item in items for a in ("--set", item)]]
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert str(out) in result.stderr and "--overwrite" in result.stderr
    result = runner.invoke(app, [*args, "--overwrite"])
    assert result.exit_code == 0, result.output
    assert not (out / "metrics.csv").exists() and (out / CHECKPOINT).is_file()
    assert run_files(out)["command"] == "r3d train"


def test_two_processes_train_in_sync(tmp_path, data, r3d_exe):
    """torchrun with two CPU processes (gloo) running the r3d console script:
    DistributedDataParallel keeps the parameters of both ranks identical."""
    out = tmp_path / "ddp"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
         r3d_exe, "train", "--set", f"data.root={data}",
         "--set", "data.families=[chair, mug]", "--set", "data.shapes_per_family=6",
         "--set", "data.views=3", "--set", "data.views_per_item=2", "--set", "data.image_size=24",
         "--set", "network.widths=[8]", "--set", "network.hidden=8", "--set", "network.stages=1",
         "--set", "network.level=0", "--set", "optim.batch_size=2", "--set", "optim.epochs=2",
         "--set", f"outputs.dir={out}"],
        capture_output=True, text=True, env=env, timeout=240, cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    sums = [json.loads((out / f"sync_rank{r}.json").read_text()) for r in (0, 1)]
    assert sums[0]["checksum"] == sums[1]["checksum"]
    assert json.loads((out / "train.json").read_text())["world_size"] == 2
    assert {"sync_rank0.json", "sync_rank1.json"} <= set(run_files(out)["files"])
