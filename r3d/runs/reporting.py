"""Pieces the runs' ``report.html`` pages share (:mod:`r3d.vis.report` builds the pages): the
curves of a loss history and the first camera of a page's 3D viewer."""

from __future__ import annotations

import math

import numpy as np

from r3d.vis.report import Series

__all__ = ["loss_charts", "view_angles"]


def loss_charts(history: list[dict[str, float]]) -> list:
    """The charts of a loss history (one dict of weighted loss terms per step): every term
    against the step on a log scale, and the total alone when there is one; as
    :meth:`r3d.vis.report.Report.charts` takes them."""
    steps = np.arange(1, len(history) + 1)
    terms = list(dict.fromkeys(k for h in history for k in h))
    series = [Series(k, steps, [h.get(k, np.nan) for h in history]) for k in terms]
    charts = [("weighted losses (log scale)", series, {"log_y": True})]
    if "total" in terms:
        charts.append(("total loss", [s for s in series if s.name == "total"], {}))
    return charts


def view_angles(center, target) -> tuple[float, float]:
    """(azimuth, elevation) in degrees (PyTorch3D's, as the viewer takes them) of a camera at
    ``center`` (3,) looking at ``target`` (3,), both in world coordinates."""
    d = np.asarray(center, dtype=np.float64) - np.asarray(target, dtype=np.float64)
    d = d / max(float(np.linalg.norm(d)), 1e-12)
    return math.degrees(math.atan2(d[0], d[2])), math.degrees(math.asin(np.clip(d[1], -1, 1)))
