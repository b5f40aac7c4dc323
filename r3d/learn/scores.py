"""Scores of shape predictions against true meshes in the PyTorch3D paper's normalisation
(after Mesh R-CNN): both are scaled so that the true shape's bounding box has a longest edge
of :data:`PAPER_SCALE` (10), :data:`SAMPLES` points are sampled on each surface (the predicted
points themselves for point clouds), and the scores are Chamfer-L2 (mean squared nearest
distance, both ways summed), normal consistency (mean absolute cosine between each point's
normal and its nearest neighbour's, both ways; meshes only) and F1 (in percent) at the
distances :data:`TAUS` (0.1, 0.3, 0.5). ``r3d eval`` and the validation curves of
``r3d train`` both use them.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import torch

from r3d.io import atomic_paths
from r3d.learn.predictor import ShapePredictor
from r3d.ops import knn_points, sample_points_from_meshes
from r3d.structures import Meshes, Pointclouds

__all__ = ["PAPER_SCALE", "SAMPLES", "TAUS", "model_scores", "plot_scores",
           "predict_first_view", "prediction_scores", "shape_scores", "split_scores",
           "summarise"]

PAPER_SCALE = 10.0
SAMPLES = 10000
TAUS = (0.1, 0.3, 0.5)


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


def prediction_scores(gt: Meshes, pred: Meshes | Pointclouds,
                      g: torch.Generator) -> dict[str, float]:
    """Scores of one prediction (a one-mesh or one-cloud batch) against one true mesh."""
    verts = gt.verts_packed()
    scale = PAPER_SCALE / float((verts.amax(0) - verts.amin(0)).max())
    y, ny = sample_points_from_meshes(gt, SAMPLES, return_normals=True, generator=g)
    if isinstance(pred, Pointclouds):
        return shape_scores(pred.points_packed() * scale, None, y[0] * scale, ny[0])
    x, nx = sample_points_from_meshes(pred, SAMPLES, return_normals=True, generator=g)
    return shape_scores(x[0] * scale, nx[0], y[0] * scale, ny[0])


def _view(item: dict, i: int) -> dict:
    return {k: item[k][i:i + 1] for k in ("images", "masks", "R", "T", "fov")}


def predict_first_view(model: ShapePredictor, item: dict) -> Meshes | Pointclouds:
    """The model's prediction (one mesh or cloud) from the item's first view."""
    v = _view(item, 0)
    with torch.no_grad():
        out = model(v["images"] * v["masks"][..., None], v["R"], v["T"], v["fov"])
    return out[-1] if isinstance(out, list) else out[0]


def split_scores(items: list[dict], predict: Callable[[dict], Meshes | Pointclouds]) -> dict:
    """The scores of ``predict(item)`` (one mesh or cloud) on every item, with points sampled
    by a generator seeded by the item's index (so every method is scored against the same
    true-surface samples), summarised (see :func:`summarise`)."""
    scores = []
    for n, item in enumerate(items):
        g = torch.Generator(device=item["verts"].device).manual_seed(n)
        gt = Meshes([item["verts"]], [item["faces"]])
        scores.append((item["family"], prediction_scores(gt, predict(item), g)))
    return summarise(scores)


def model_scores(model: ShapePredictor, items: list[dict]) -> dict:
    """:func:`split_scores` of the model's predictions from each item's first view (in eval
    mode; the model's mode is restored)."""
    was_training = model.training
    model.eval()
    try:
        return split_scores(items, lambda item: predict_first_view(model, item))
    finally:
        model.train(was_training)


def summarise(scores: list[tuple[str, dict]]) -> dict:
    """{"per_family": {family: mean scores}, "overall": mean scores} of (family, scores)
    pairs."""

    def mean(group: list[dict]) -> dict[str, float]:
        return {k: round(sum(s[k] for s in group) / len(group), 4) for k in group[0]}

    families = sorted({f for f, _ in scores})
    return {"per_family": {f: mean([s for g, s in scores if g == f]) for f in families},
            "overall": mean([s for _, s in scores])}


def plot_scores(rows: list[dict[str, float]], path: Path) -> None:
    """Validation curves as a PNG at ``path`` (atomically): F1 at each tau (left) and
    Chamfer-L2 (right, log scale) against the iteration, from rows of scores with their
    ``iteration``."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(9, 3.6), dpi=100)
    FigureCanvasAgg(fig)
    f1, chamfer = fig.subplots(1, 2)
    x = [r["iteration"] for r in rows]
    for tau in TAUS:
        f1.plot(x, [r[f"f1@{tau}"] for r in rows], marker="o", ms=3, label=f"F1@{tau}")
    f1.set_ylabel("F1 (%)")
    f1.legend()
    chamfer.plot(x, [r["chamfer_l2"] for r in rows], marker="o", ms=3, color="C3")
    chamfer.set_yscale("log")
    chamfer.set_ylabel("Chamfer-L2")
    for ax in (f1, chamfer):
        ax.set_xlabel("iteration")
        ax.grid(True, which="both", alpha=0.3)
    fig.suptitle("validation split (scores of r3d eval)")
    fig.tight_layout()
    with atomic_paths(path) as (tmp,):
        fig.savefig(tmp, format="png")
