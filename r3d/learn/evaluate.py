"""``r3d eval``: scores of a trained shape predictor on held-out shapes, with baselines.

Each shape of the split is predicted from its first view and compared with its true mesh as
in the PyTorch3D paper (after Mesh R-CNN): both are scaled so that the true shape's bounding
box has a longest edge of :data:`PAPER_SCALE` (10), :data:`SAMPLES` points are sampled on each
surface (the predicted points themselves for point clouds), and the scores are Chamfer-L2 (mean
squared nearest distance, both ways summed), normal consistency (mean absolute cosine between
each point's normal and its nearest neighbour's, both ways; meshes only) and F1 at the
distances :data:`TAUS` (0.1, 0.3, 0.5). Scores are averaged per family and over all shapes.

Baselines: ``sphere``, the untrained network's start (a sphere of the recipe's radius at the
object's centre); ``nearest``, the training shape whose view silhouette best matches (IoU) the
input silhouette, placed as it was seen in that view.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import torch

from r3d.errors import FileFormatError
from r3d.fit.metrics import iou
from r3d.fit.render import render_display, render_points
from r3d.io import atomic_open
from r3d.learn.predictor import ShapePredictor, to_world
from r3d.learn.recipe import TrainRecipe, train_recipe_from_node
from r3d.learn.train import load_checkpoint, load_items
from r3d.ops import knn_points, sample_points_from_meshes
from r3d.render.output import to_uint8, write_png
from r3d.renderer import FoVPerspectiveCameras
from r3d.schema import Node
from r3d.structures import Meshes
from r3d.utils import ico_sphere

__all__ = ["PAPER_SCALE", "SAMPLES", "TAUS", "evaluate", "shape_scores"]

PAPER_SCALE = 10.0
SAMPLES = 10000
TAUS = (0.1, 0.3, 0.5)
PICTURE_ROWS = 8


def shape_scores(pred: torch.Tensor, pred_normals: torch.Tensor | None, gt: torch.Tensor,
                 gt_normals: torch.Tensor) -> dict[str, float]:
    """Scores of predicted points (P, 3) (with normals or None) against true points (Q, 3)
    with normals, already in the paper's scale."""
    to_gt = knn_points(pred[None], gt[None], K=1)
    to_pred = knn_points(gt[None], pred[None], K=1)
    d_pg, d_gp = to_gt.dists[0, :, 0], to_pred.dists[0, :, 0]
    scores = {"chamfer_l2": float(d_pg.mean() + d_gp.mean())}
    if pred_normals is not None:
        cos_pg = (pred_normals * gt_normals[to_gt.idx[0, :, 0]]).sum(-1).abs()
        cos_gp = (gt_normals * pred_normals[to_pred.idx[0, :, 0]]).sum(-1).abs()
        scores["normal_consistency"] = float(0.5 * (cos_pg.mean() + cos_gp.mean()))
    for tau in TAUS:
        precision = float((d_pg.sqrt() < tau).double().mean())
        recall = float((d_gp.sqrt() < tau).double().mean())
        total = precision + recall
        scores[f"f1@{tau}"] = 100 * 2 * precision * recall / total if total else 0.0
    return scores


def _scores_vs(gt: Meshes, pred: Meshes | torch.Tensor, g: torch.Generator) -> dict[str, float]:
    """Scores of one prediction (a one-mesh batch, or (P, 3) points) against one true mesh."""
    verts = gt.verts_packed()
    scale = PAPER_SCALE / float((verts.amax(0) - verts.amin(0)).max())
    y, ny = sample_points_from_meshes(gt, SAMPLES, return_normals=True, generator=g)
    if isinstance(pred, torch.Tensor):
        return shape_scores(pred * scale, None, y[0] * scale, ny[0])
    x, nx = sample_points_from_meshes(pred, SAMPLES, return_normals=True, generator=g)
    return shape_scores(x[0] * scale, nx[0], y[0] * scale, ny[0])


def _view(item: dict, i: int) -> dict:
    return {k: item[k][i:i + 1] for k in ("images", "masks", "R", "T", "fov")}


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


def _predict(model: ShapePredictor, item: dict) -> Meshes | torch.Tensor:
    v = _view(item, 0)
    with torch.no_grad():
        out = model(v["images"] * v["masks"][..., None], v["R"], v["T"], v["fov"])
    return out[-1] if isinstance(out, list) else out[0]


def _picture_row(item: dict, pred, recipe: TrainRecipe, device) -> torch.Tensor:
    """(S, 3 S, 3): the input view, the prediction from it and from another view."""
    size = tuple(item["masks"].shape[1:3])
    j = item["masks"].shape[0] // 2
    cams = FoVPerspectiveCameras(fov=item["fov"][[0, j]], R=item["R"][[0, j]],
                                 T=item["T"][[0, j]], device=device)
    if isinstance(pred, torch.Tensor):
        r = render_points(pred, torch.full_like(pred, 0.7), torch.ones_like(pred[:, 0]), cams,
                          recipe.renderer, size)
        images = r.rgb
    else:
        images, _ = render_display(pred, cams, size, recipe.renderer)
    return torch.cat([item["images"][0] * item["masks"][0][..., None], images[0], images[1]],
                     dim=1)


def evaluate(checkpoint: str | os.PathLike, data: str | os.PathLike, split: str = "test",
             out: str | os.PathLike | None = None, baselines: bool = True,
             device: str = "cpu") -> dict:
    """Scores the checkpoint's predictor (and the baselines) on a split of the dataset at
    ``data``; writes ``eval.json`` and ``eval.png`` (inputs beside predictions) into ``out``
    (default: the checkpoint's folder). Returns {"methods": {name: {"per_family": {...},
    "overall": {...}}}, "shapes": n, "split": split}."""
    checkpoint = Path(checkpoint).expanduser().resolve()
    ckpt = load_checkpoint(checkpoint)
    recipe = train_recipe_from_node(Node(ckpt["recipe"], checkpoint))
    dev = torch.device(device)
    model = ShapePredictor(recipe.model, recipe.network).to(dev)
    try:
        model.load_state_dict(ckpt["model"])
    except RuntimeError as exc:
        raise FileFormatError(checkpoint, f"the weights do not fit the recipe ({exc})") from None
    model.eval()
    items = load_items(Path(data), split, dev)
    train = load_items(Path(data), "train", dev) if baselines else []
    methods: dict[str, list[tuple[str, dict]]] = {"model": []}
    if baselines:
        methods.update(sphere=[], nearest=[])
    rows = []
    for n, item in enumerate(items):
        g = torch.Generator(device=dev).manual_seed(n)
        gt = Meshes([item["verts"]], [item["faces"]])
        pred = _predict(model, item)
        methods["model"].append((item["family"], _scores_vs(gt, pred, g)))
        if baselines:
            methods["sphere"].append((item["family"], _scores_vs(gt, _sphere(recipe, dev), g)))
            methods["nearest"].append((item["family"], _scores_vs(gt, _nearest(item, train),
                                                                   g)))
        if n < PICTURE_ROWS:
            rows.append(_picture_row(item, pred, recipe, dev))
    result = {"split": split, "shapes": len(items), "model": recipe.model,
              "supervision": recipe.supervision,
              "methods": {name: _summarise(scores) for name, scores in methods.items()}}
    folder = Path(out).expanduser().resolve() if out is not None else checkpoint.parent
    folder.mkdir(parents=True, exist_ok=True)
    with atomic_open(folder / "eval.json", "w") as f:
        json.dump(result, f, indent=2)
    write_png(folder / "eval.png", to_uint8(torch.cat(rows, dim=0)))
    result["files"] = [str(folder / "eval.json"), str(folder / "eval.png")]
    return result


def _summarise(scores: list[tuple[str, dict]]) -> dict:
    def mean(group: list[dict]) -> dict[str, float]:
        return {k: round(sum(s[k] for s in group) / len(group), 4) for k in group[0]}

    families = sorted({f for f, _ in scores})
    return {"per_family": {f: mean([s for g, s in scores if g == f]) for f in families},
            "overall": mean([s for _, s in scores])}
