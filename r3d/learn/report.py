"""``report.html`` of a training run (``r3d train``) and of its evaluation (``r3d eval``): one
page per output folder, rewritten by each of them.

It holds the key scores, the evaluation's scores per method and family (after ``r3d eval``),
sample predictions beside their inputs and a few predicted shapes over their true shapes in
the 3D viewer (after ``r3d eval``), interactive curves of the training losses per iteration
and of the validation scores, the recipe, the training's summary, the timings and the
machine.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import yaml

from r3d.learn.scores import TAUS
from r3d.runs.reporting import loss_charts
from r3d.structures import Meshes, Pointclouds
from r3d.vis import ViewItem, items_of
from r3d.vis.report import Report, Series

__all__ = ["Evaluation", "score_rows", "write_learn_report"]

# the gap between the samples laid out side by side in the viewer, over the widest one
SAMPLE_GAP = 0.25
TRUTH_COLOUR = "#d9822b"
PREDICTION_COLOUR = "#7f9fcf"  # predictions without colours of their own
MIN_PICTURE = 128  # pixels: smaller sample pictures are enlarged


@dataclass
class Evaluation:
    """What ``r3d eval`` adds to the page.

    Attributes:
        result: what eval.json holds.
        pictures: (caption, input view, the prediction seen from it) per sample, (S, S, 3)
            uint8 images.
        shapes: (name, prediction (one mesh or cloud), true mesh) per sample shown in the
            viewer, in world coordinates.
    """

    result: dict
    pictures: list[tuple[str, np.ndarray, np.ndarray]] = field(default_factory=list)
    shapes: list[tuple[str, Meshes | Pointclouds, Meshes]] = field(default_factory=list)


def score_rows(methods: dict) -> tuple[list[str], list[list]]:
    """The scores of eval's ``methods`` ({name: {"per_family": ..., "overall": ...}}) as
    (score names, rows [method, family, *scores]): each method's families, then "all"; a
    score a method lacks (normal consistency of points) is None."""
    keys = list(next(iter(methods.values()))["overall"])
    rows = [[name, family, *(values.get(k) for k in keys)]
            for name, scores in methods.items()
            for family, values in [*scores["per_family"].items(), ("all", scores["overall"])]]
    return keys, rows


def _enlarged(image: np.ndarray) -> np.ndarray:
    """A small (H, W, C) image repeated to at least MIN_PICTURE pixels high (crisp pixels,
    where the page would blur them)."""
    k = -(-MIN_PICTURE // image.shape[0])
    return image.repeat(k, axis=0).repeat(k, axis=1) if k > 1 else image


def _validation_charts(validation: list[dict[str, float]]) -> list:
    iterations = [row["iteration"] for row in validation]
    f1 = [Series(f"F1@{tau}", iterations, [row[f"f1@{tau}"] for row in validation])
          for tau in TAUS]
    chamfer = [Series("Chamfer-L2", iterations, [row["chamfer_l2"] for row in validation])]
    return [("F1 (%) on the val split", f1, {}),
            ("Chamfer-L2 on the val split (log scale)", chamfer, {"log_y": True})]


def _points(shape: Meshes | Pointclouds) -> torch.Tensor:
    return shape.verts_packed() if isinstance(shape, Meshes) else shape.points_packed()


def _moved(shape: Meshes | Pointclouds, offset: torch.Tensor) -> Meshes | Pointclouds:
    return shape.offset_verts(offset) if isinstance(shape, Meshes) else shape.offset(offset)


def _shape_items(shapes: list[tuple[str, Meshes | Pointclouds, Meshes]]) -> list[ViewItem]:
    """Each prediction with its true shape drawn see-through over it, the samples side by side
    along x (each pair moved as one)."""
    items, left = [], 0.0
    for name, pred, truth in shapes:
        points = torch.cat([_points(pred), _points(truth).to(_points(pred))]).detach()
        lo, hi = points.amin(0), points.amax(0)
        width = float(hi[0] - lo[0])
        offset = torch.tensor([left - float(lo[0]), 0.0, 0.0], device=points.device,
                              dtype=points.dtype)
        left += width * (1 + SAMPLE_GAP) + 1e-6
        for item in items_of(_moved(pred, offset), f"{name}: prediction"):
            item.color = None if item.own_colors else PREDICTION_COLOUR
            items.append(item)
        for item in items_of(_moved(truth, offset.to(_points(truth))), f"{name}: truth"):
            item.opacity, item.color, item.plain = 0.3, TRUTH_COLOUR, True
            items.append(item)
    return items


def _key_scores(summary: dict | None, validation: list[dict], evaluation: Evaluation | None
                ) -> list[tuple[str, object]]:
    rows = []
    if evaluation is not None:
        result = evaluation.result
        for key, value in result["methods"]["model"]["overall"].items():
            rows.append((f"{key} ({result['split']} split, r3d eval)", value))
    elif validation:
        rows += [(f"{k} (val split, iteration {validation[-1]['iteration']})", v)
                 for k, v in validation[-1].items() if k != "iteration"]
    if summary is not None:
        rows += [("iterations", summary.get("iterations")),
                 ("final loss", (summary.get("final_loss") or {}).get("total")),
                 ("training seconds", summary.get("seconds"))]
    return rows


def _evaluation_sections(report: Report, evaluation: Evaluation) -> None:
    result = evaluation.result
    report.heading(f"r3d eval: {result['shapes']} {result['split']} shapes "
                   f"({result['model']}, {result['supervision']} supervision)")
    keys, rows = score_rows(result["methods"])
    report.table(rows, ["method", "family", *keys])
    baselines = ("sphere: the untrained network's start; nearest: the training shape whose "
                 "silhouette best matches the input's. " if "sphere" in result["methods"]
                 else "")
    report.paragraph(f"{baselines}F1 in percent at 0.1, 0.3 and 0.5 with the true shape's "
                     "longest side scaled to 10.")
    if evaluation.pictures:
        report.heading("Predictions: the input view | the prediction seen from it")
        report.pairs([(caption, _enlarged(a), _enlarged(b))
                      for caption, a, b in evaluation.pictures], ("input", "prediction"))
    if evaluation.shapes:
        report.heading("Predicted shapes")
        report.paragraph("Each prediction with its true shape drawn see-through in orange "
                         "over it, the samples side by side along x.")
        report.viewer(_shape_items(evaluation.shapes))


def write_learn_report(folder: Path, *, recipe: dict, history: list[dict[str, float]],
                       validation: list[dict[str, float]], summary: dict | None, machine: dict,
                       evaluation: Evaluation | None = None) -> Path:
    """Writes ``folder/report.html``; returns its path.

    Args:
        recipe: the training recipe as plain data (:func:`train_recipe_to_dict`; shown as
            recipe.yaml holds it).
        history: the weighted losses of each training iteration.
        validation: the val split's scores with their ``iteration`` (may be empty).
        summary: what train.json holds, or None (not known).
        machine: :func:`r3d.runs.machine.machine_info` of the run writing the page.
        evaluation: what r3d eval adds, or None.
    """
    commands = "r3d train" if evaluation is None else "r3d train · r3d eval"
    report = Report(commands, f"{recipe['model']} from one image, {recipe['supervision']} "
                              f"supervision · {folder}")
    report.heading("Scores").table(_key_scores(summary, validation, evaluation))
    if evaluation is not None:
        _evaluation_sections(report, evaluation)
    if history:
        report.heading("Training losses").charts(loss_charts(history))
    if validation:
        report.heading("Validation scores (as r3d eval scores them)")
        report.charts(_validation_charts(validation))
    report.heading("Recipe").code(yaml.safe_dump(recipe, sort_keys=False))
    if summary is not None:
        report.heading("Training summary (train.json)").metrics(summary)
    if evaluation is not None:
        report.json("eval.json", evaluation.result)
    timings = {}
    if summary is not None:
        timings.update({f"training {k}": summary[k]
                        for k in ("seconds", "images_per_second", "world_size") if k in summary})
    if evaluation is not None and "seconds" in evaluation.result:
        timings["evaluation seconds"] = evaluation.result["seconds"]
    report.machine(machine, timings)
    return report.write(folder / "report.html")
