"""Line charts as inline SVG, for loss and metric curves in reports.

The SVG is drawn here (axes, grid, ticks, one polyline per series); ``assets/report.js``
makes it interactive in the browser: hovering reads out every series at the nearest x, and
clicking a legend entry hides or shows its series. The data of the read-out travels in a JSON
``<script>`` next to the SVG.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from r3d.vis.page import script_json, text

__all__ = ["Series", "line_chart"]

SERIES_COLORS = ("#2b7bb9", "#d9822b", "#3f9b4f", "#b0448f", "#8c6d1f", "#1f9e9e", "#c0392b",
                 "#6c5ce7")
# the most points a polyline keeps per series (evenly spaced)
MAX_POINTS = 1500
_W, _H = 640, 300
_LEFT, _RIGHT, _TOP, _BOTTOM = 64, 16, 12, 38


class Series:
    """One curve: ``name``, x values (N,) and y values (N,) (non-finite ys are gaps)."""

    def __init__(self, name: str, x: Sequence[float], y: Sequence[float]):
        self.name = str(name)
        self.x = np.asarray(x, dtype=np.float64).reshape(-1)
        self.y = np.asarray(y, dtype=np.float64).reshape(-1)
        if self.x.shape != self.y.shape:
            raise ValueError(f"series {name!r}: {self.x.size} x values but {self.y.size} y")


def _nice_ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    """About ``count`` round tick values covering [lo, hi]."""
    if not hi > lo:
        return [lo]
    raw = (hi - lo) / count
    step = 10 ** math.floor(math.log10(raw))
    step *= next(m for m in (1, 2, 2.5, 5, 10) if raw <= m * step)
    first = math.ceil(lo / step) * step
    return [first + k * step for k in range(int((hi - first) / step + 1e-9) + 1)]


def _label(value: float) -> str:
    return f"{value:.3g}" if value != 0 else "0"


def _thin(series: Series) -> tuple[np.ndarray, np.ndarray]:
    keep = np.isfinite(series.x)
    x, y = series.x[keep], series.y[keep]
    if x.size > MAX_POINTS:
        index = np.unique(np.linspace(0, x.size - 1, MAX_POINTS).round().astype(int))
        x, y = x[index], y[index]
    return x, y


def line_chart(chart_id: str, title: str, series: list[Series], *, xlabel: str = "iteration",
               log_y: bool = False) -> str:
    """The HTML of one chart: title, legend, SVG and its read-out data.

    Args:
        chart_id: an element id unique in the page.
        series: the curves; with ``log_y`` non-positive values are left out.
    """
    curves = []
    for s in series:
        x, y = _thin(s)
        ok = np.isfinite(y) & ((y > 0) if log_y else True)
        curves.append((s.name, x, np.where(ok, np.log10(np.where(ok, y, 1)) if log_y else y,
                                           np.nan)))
    xs = np.concatenate([c[1] for c in curves]) if curves else np.zeros(0)
    ys = np.concatenate([c[2] for c in curves]) if curves else np.zeros(0)
    ys = ys[np.isfinite(ys)]
    if xs.size == 0 or ys.size == 0:
        return (f'<div class="r3d-chart"><div class="r3d-chart-title">{text(title)}</div>'
                f'<p class="r3d-sub">no data</p></div>')
    x0, x1 = float(xs.min()), float(xs.max())
    y0, y1 = float(ys.min()), float(ys.max())
    if log_y:
        y0, y1 = math.floor(y0), math.ceil(y1)
    pad = (y1 - y0) * 0.05 or 0.5
    y0, y1 = (y0, y1) if log_y and y1 > y0 else (y0 - pad, y1 + pad)
    x1 = x1 if x1 > x0 else x0 + 1
    plot_w, plot_h = _W - _LEFT - _RIGHT, _H - _TOP - _BOTTOM

    def px(v):
        return _LEFT + (v - x0) / (x1 - x0) * plot_w

    def py(v):
        return _TOP + (1 - (v - y0) / (y1 - y0)) * plot_h

    parts = [f'<svg viewBox="0 0 {_W} {_H}" role="img" aria-label="{text(title)}">']
    y_ticks = list(range(int(y0), int(y1) + 1)) if log_y else _nice_ticks(y0, y1)
    for t in y_ticks:
        label = _label(10.0 ** t) if log_y else _label(t)
        parts.append(f'<line class="r3d-gridline" x1="{_LEFT}" x2="{_W - _RIGHT}" '
                     f'y1="{py(t):.1f}" y2="{py(t):.1f}"/>'
                     f'<text x="{_LEFT - 6}" y="{py(t) + 4:.1f}" text-anchor="end">{label}</text>')
    for t in _nice_ticks(x0, x1):
        parts.append(f'<line class="r3d-axis" x1="{px(t):.1f}" x2="{px(t):.1f}" '
                     f'y1="{_H - _BOTTOM}" y2="{_H - _BOTTOM + 4}"/>'
                     f'<text x="{px(t):.1f}" y="{_H - _BOTTOM + 16}" '
                     f'text-anchor="middle">{_label(t)}</text>')
    parts.append(f'<line class="r3d-axis" x1="{_LEFT}" x2="{_W - _RIGHT}" y1="{_H - _BOTTOM}" '
                 f'y2="{_H - _BOTTOM}"/><line class="r3d-axis" x1="{_LEFT}" x2="{_LEFT}" '
                 f'y1="{_TOP}" y2="{_H - _BOTTOM}"/>'
                 f'<text x="{_LEFT + plot_w / 2:.0f}" y="{_H - 4}" '
                 f'text-anchor="middle">{text(xlabel)}</text>')
    legend, data = [], []
    for k, (name, x, y) in enumerate(curves):
        color = SERIES_COLORS[k % len(SERIES_COLORS)]
        runs, run = [], []
        for xv, yv in zip(x, y):
            if np.isfinite(yv):
                run.append(f"{px(xv):.1f},{py(yv):.1f}")
            elif run:
                runs.append(run)
                run = []
        runs.append(run)
        width = ' style="stroke-width:2.4"' if name == "total" else ""
        parts += [f'<polyline class="r3d-series" data-series="{k}" stroke="{color}"{width} '
                  f'points="{" ".join(r)}"/>' for r in runs if r]
        legend.append(f'<span data-series="{k}" role="button"><i style="background:{color}">'
                      f"</i>{text(name)}</span>")
        data.append({"name": name, "x": [round(float(v), 6) for v in x],
                     "y": [None if not np.isfinite(v) else float(10.0 ** v if log_y else v)
                           for v in y]})
    parts.append(f'<line class="r3d-cursor" x1="0" x2="0" y1="{_TOP}" y2="{_H - _BOTTOM}" '
                 f'visibility="hidden"/></svg>')
    frame = {"x0": x0, "x1": x1, "left": _LEFT, "width": plot_w, "svgWidth": _W,
             "xlabel": xlabel, "series": data}
    return (f'<div class="r3d-chart" id="{chart_id}">'
            f'<div class="r3d-chart-title">{text(title)}</div>'
            f'<div class="r3d-legend">{"".join(legend)}</div>{"".join(parts)}'
            f'<div class="r3d-chart-readout"></div>'
            f'<script type="application/json" class="r3d-chart-data">{script_json(frame)}'
            f"</script></div>")
