"""``r3d eval``: scores of a trained shape predictor on held-out shapes, with baselines.

Each shape of the split is predicted from its first view and compared with its true mesh as
in the PyTorch3D paper (:mod:`r3d.learn.scores`: Chamfer-L2, normal consistency, F1 at 0.1,
0.3 and 0.5 with the true shape's longest bounding-box edge scaled to 10). Scores are averaged
per family and over all shapes.

Baselines: ``sphere``, the untrained network's start (a sphere of the recipe's radius at the
object's centre); ``nearest``, the training shape whose view silhouette best matches (IoU) the
input silhouette, placed as it was seen in that view.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import numpy as np
import torch

from r3d.errors import FileFormatError
from r3d.io import atomic_open
from r3d.learn.predictor import ShapePredictor, to_world
from r3d.learn.recipe import TrainRecipe, train_recipe_from_node
from r3d.learn.report import Evaluation, write_learn_report
from r3d.learn.scores import model_scores, predict_first_view, split_scores
from r3d.learn.train import load_checkpoint, load_items
from r3d.renderer import FoVPerspectiveCameras
from r3d.runs.checkpoints import checkpoint_recipe
from r3d.runs.images import to_uint8, write_png
from r3d.runs.machine import machine_info
from r3d.runs.metrics import iou
from r3d.runs.outdir import output_folder, run_files
from r3d.runs.rendering import SHAPE_GREY, render_mesh_display, render_points
from r3d.schema import Node
from r3d.structures import Meshes, Pointclouds
from r3d.utils import ico_sphere

__all__ = ["evaluate"]

PICTURE_ROWS = 8
VIEWER_SAMPLES = 4  # predictions shown in the report's 3D viewer


def _sphere(recipe: TrainRecipe, device: torch.device) -> Meshes:
    net = recipe.network
    sphere = ico_sphere(net.level + net.stages - 1, device=device)
    return sphere.update_padded(sphere.verts_padded() * net.radius)


def _nearest(item: dict, train: list[dict]) -> Meshes:
    """The training shape whose view best matches the item's first view's silhouette, moved
    from that view's frame into the item's first view's frame."""
    mask = item["masks"][0:1]
    best, best_iou = None, -1.0
    for other in train:
        scores = iou(other["masks"], mask.expand_as(other["masks"]))
        j = int(scores.argmax())
        if float(scores[j]) > best_iou:
            best, best_iou = (other, j), float(scores[j])
    other, j = best
    view = other["verts"][None] @ other["R"][j:j + 1] + other["T"][j:j + 1, None]
    verts = to_world(view, item["R"][0:1], item["T"][0:1])
    return Meshes([verts[0]], [other["faces"]])


def _picture_row(item: dict, pred, recipe: TrainRecipe, device) -> torch.Tensor:
    """(S, 3 S, 3): the input view, the prediction from it and from another view."""
    size = tuple(item["masks"].shape[1:3])
    j = item["masks"].shape[0] // 2
    cams = FoVPerspectiveCameras(fov=item["fov"][[0, j]], R=item["R"][[0, j]],
                                 T=item["T"][[0, j]], device=device)
    if isinstance(pred, Pointclouds):
        points, colours = pred.points_packed(), pred.features_packed()
        if colours is None:
            colours = torch.full_like(points, SHAPE_GREY)
        images = render_points(points, colours, torch.ones_like(points[:, 0]), cams,
                               recipe.renderer, size).rgb
    else:
        images, _ = render_mesh_display(pred, cams, size)
    return torch.cat([item["images"][0] * item["masks"][0][..., None], images[0], images[1]],
                     dim=1)


def evaluate(checkpoint: str | os.PathLike, data: str | os.PathLike, split: str = "test",
             out: str | os.PathLike | None = None, baselines: bool = True,
             device: str = "cpu") -> dict:
    """Scores the checkpoint's predictor (and the baselines) on a split of the dataset at
    ``data``; writes ``eval.json``, ``eval.png`` (inputs beside predictions) and
    ``report.html`` (:mod:`r3d.learn.report`: the training's page with the evaluation added)
    into ``out`` (default: the checkpoint's folder). Returns {"methods": {name:
    {"per_family": {...}, "overall": {...}}}, "shapes": n, "split": split, "seconds": s,
    "files": [...]}."""
    checkpoint = Path(checkpoint).expanduser().resolve()
    ckpt = load_checkpoint(checkpoint)
    plain = checkpoint_recipe(ckpt, checkpoint)
    recipe = train_recipe_from_node(Node(plain, checkpoint))
    dev = torch.device(device)
    model = ShapePredictor.for_recipe(recipe).to(dev)
    try:
        model.load_state_dict(ckpt["model"])
    except RuntimeError as exc:
        raise FileFormatError(checkpoint, f"the weights do not fit the recipe ({exc})") from None
    model.eval()
    start = time.perf_counter()
    items = load_items(Path(data), split, dev)
    train = load_items(Path(data), "train", dev) if baselines else []
    methods = {"model": model_scores(model, items)}
    if baselines:
        sphere = _sphere(recipe, dev)
        methods.update(sphere=split_scores(items, lambda item: sphere),
                       nearest=split_scores(items, lambda item: _nearest(item, train)))
    shown = items[:PICTURE_ROWS]
    predictions = [predict_first_view(model, item) for item in shown]
    rows = [to_uint8(_picture_row(item, pred, recipe, dev))
            for item, pred in zip(shown, predictions)]
    result = {"split": split, "shapes": len(items), "model": recipe.model,
              "supervision": recipe.supervision, "methods": methods,
              "seconds": round(time.perf_counter() - start, 2)}
    folder = Path(out).expanduser().resolve() if out is not None else checkpoint.parent
    names = [f"{item['family']}/{item['shape_id']}" for item in shown]
    size = rows[0].shape[0]
    evaluation = Evaluation(result, [(name, row[:, :size], row[:, size:2 * size])
                                     for name, row in zip(names, rows)], [
        (name, pred, Meshes([item["verts"]], [item["faces"]]))
        for name, pred, item in list(zip(names, predictions, shown))[:VIEWER_SAMPLES]])
    # eval.json, eval.png and report.html join the folder's run (listed in its marker, so that
    # a later --overwrite of the training replaces them too)
    command = (run_files(folder) or {"command": "r3d eval"})["command"]
    with output_folder(folder, command, resume=True):
        with atomic_open(folder / "eval.json", "w") as f:
            json.dump(result, f, indent=2)
        write_png(folder / "eval.png", np.concatenate(rows, axis=0))
        write_learn_report(folder, recipe=plain, history=ckpt["history"],
                           validation=ckpt.get("validation", []),
                           summary=_training_summary(checkpoint.parent), machine=machine_info(dev),
                           evaluation=evaluation)
    result["files"] = [str(folder / name) for name in ("eval.json", "eval.png", "report.html")]
    return result


def _training_summary(folder: Path) -> dict | None:
    """The train.json of the training run in ``folder``, or None when it is not there."""
    try:
        summary = json.loads((folder / "train.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return summary if isinstance(summary, dict) else None
