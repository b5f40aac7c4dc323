"""``report.html`` of a fit: the page to look at first and to share.

It holds the key scores, every scored (held-out) view as input | fit, the fitted shape in the
3D viewer (with the ground truth overlaid, see-through, when there is one), the optimisation
as the progress GIF, interactive loss curves, the resolved recipe, every metric, the timings
and the machine.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from r3d.errors import FileFormatError
from r3d.runs.reporting import loss_charts, view_angles
from r3d.vis import ViewItem, file_items
from r3d.vis.report import Report

__all__ = ["ScoredViews", "write_fit_report"]

# the progress GIF is embedded only below this size, keeping the page small
MAX_GIF_BYTES = 3_000_000
# the scores shown first, in this order, with their labels
KEY_SCORES = (
    (("mean_iou",), "silhouette IoU (mean over the scored views)"),
    (("mean_psnr",), "PSNR (mean over the scored views, dB)"),
    (("surface", "chamfer_l2"), "Chamfer-L2 to the ground truth"),
    (("surface", "f_score@0.05"), "F-score at 0.05 to the ground truth"),
    (("iterations",), "iterations"),
    (("seconds",), "seconds"),
)


@dataclass
class ScoredViews:
    """The scored views of a fit: names (n,), inputs and renders of the fit (n, H, W, 3)
    uint8, and the cameras' centres (n, 3) in world coordinates."""

    names: list[str]
    inputs: np.ndarray
    renders: np.ndarray
    centers: np.ndarray


def _lookup(metrics: dict, keys: tuple[str, ...]):
    value = metrics
    for key in keys:
        if not isinstance(value, dict) or key not in value:
            return None
        value = value[key]
    return value


def write_fit_report(out: Path, *, recipe_text: str, inputs: dict, metrics: dict,
                     history: list[dict[str, float]], scored: ScoredViews | None,
                     model_file: Path, gt: Path | None, machine: dict) -> Path:
    """Writes ``out/report.html``; returns its path.

    Args:
        recipe_text: the resolved recipe (YAML).
        inputs: the run's input paths (mesh, views, target, gt; None where not given).
        metrics: what metrics.json holds.
        history: the weighted losses of each iteration.
        scored: the scored views (view fits) or None.
        model_file: the fitted model's file (fit.obj / fit.ply).
        gt: the ground-truth mesh, overlaid in the viewer, or None.
        machine: :func:`r3d.runs.machine.machine_info`.
    """
    given = ", ".join(f"{k} {v}" for k, v in inputs.items() if v is not None)
    report = Report("r3d fit", f"r3d fit · {given or 'the bundled example'}")
    key = [(label, value) for name, label in KEY_SCORES
           if (value := _lookup(metrics, name)) is not None]
    report.heading("Scores").table(key)
    if scored is not None:
        which = "held-out" if metrics.get("scored_views") == "held_out" else "training"
        report.heading(f"Every {which} view: input | fit")
        report.pairs([(name, a, b) for name, a, b in zip(scored.names, scored.inputs,
                                                             scored.renders)],
                     ("input", "fit"))
    report.heading("The fitted shape")
    try:
        items = file_items(model_file)
    except FileFormatError as exc:  # e.g. a volume with no surface at its isolevel
        items = [ViewItem(model_file.name, "mesh", None, ["nothing to draw"], note=str(exc))]
    for item in items:
        item.name = f"fit: {item.name}"
    if gt is not None:
        truth = file_items(gt)
        for item in truth:
            item.name = f"ground truth: {item.name}"
            item.opacity, item.color, item.plain = 0.3, "#d9822b", True
        items += truth
        report.paragraph("The ground truth is drawn see-through, in orange; its checkbox "
                         "hides it.")
    view = (30.0, 20.0)
    if scored is not None and len(scored.centers):
        view = view_angles(scored.centers[0], np.zeros(3))
    report.viewer(items, view=view)
    gif = out / "progress.gif"
    if gif.is_file() and gif.stat().st_size <= MAX_GIF_BYTES:
        report.heading("Progress: input | fit during the optimisation")
        report.images([("progress.gif", gif)])
    if history:
        report.heading("Loss curves").charts(loss_charts(history))
    report.heading("Recipe").code(recipe_text)
    report.heading("All metrics").metrics(metrics)
    timings = {k: metrics[k] for k in ("seconds", "iterations_run", "iterations_per_second")
               if k in metrics}
    report.machine(machine, timings)
    return report.write(out / "report.html")
