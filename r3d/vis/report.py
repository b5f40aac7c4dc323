"""``report.html``: one self-contained page per run (fit, render, training, evaluation,
benchmark) that opens offline and can be shared as a single file.

A :class:`Report` is built section by section (text, tables, the recipe, images, input/result
pairs, a 3D viewer, interactive charts, timings and the machine) and written atomically. Every
string is escaped where it is written; images are embedded as PNG data URIs.
"""

from __future__ import annotations

import base64
import datetime
import io
import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image

from r3d.vis.charts import Series, line_chart
from r3d.vis.items import ViewItem
from r3d.vis.page import VIEW, Ids, asset, document, text, viewer_block, write_html

__all__ = ["Report", "Series", "image_data_uri"]

# the longest side of an embedded image (larger ones are shrunk, keeping the page small)
MAX_IMAGE_SIDE = 512


def image_data_uri(image) -> str:
    """A data URI of ``image``: a GIF file as it is (animations kept); else PNG of a path to
    an image file, of PNG bytes, or of an (H, W[, C]) uint8 array / float array in [0, 1],
    shrunk to at most MAX_IMAGE_SIDE."""
    if isinstance(image, (str, Path)) and Path(image).suffix.lower() == ".gif":
        return "data:image/gif;base64," + base64.b64encode(Path(image).read_bytes()).decode(
            "ascii")
    if isinstance(image, (str, Path)):
        picture = Image.open(image)
        picture.load()
    elif isinstance(image, bytes):
        picture = Image.open(io.BytesIO(image))
    else:
        array = np.asarray(image)
        if array.dtype != np.uint8:
            array = (np.clip(array, 0, 1) * 255 + 0.5).astype(np.uint8)
        picture = Image.fromarray(array[..., 0] if array.ndim == 3 and array.shape[2] == 1
                                  else array)
    if max(picture.size) > MAX_IMAGE_SIDE:
        picture.thumbnail((MAX_IMAGE_SIDE, MAX_IMAGE_SIDE))
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG", optimize=True)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _cell(value) -> tuple[str, bool]:
    """(HTML text of a table value, whether it is a number)."""
    if isinstance(value, bool) or value is None:
        return text("yes" if value else "no" if value is not None else "–"), False
    if isinstance(value, (int, np.integer)):
        return f"{int(value):,}", True
    if isinstance(value, (float, np.floating)):
        return text(f"{float(value):.5g}"), True
    if isinstance(value, (list, tuple)) and all(isinstance(v, (int, float)) for v in value):
        return text(", ".join(f"{v:.4g}" for v in value)), False
    return text(value), False


def flatten(values: dict, prefix: str = "") -> list[tuple[str, object]]:
    """(dotted key, value) rows of a nested dict; lists of dicts are left out (shown as
    tables of their own)."""
    rows = []
    for key, value in values.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            rows += flatten(value, name + ".")
        elif isinstance(value, list) and value and isinstance(value[0], dict):
            continue
        else:
            rows.append((name, value))
    return rows


class Report:
    """A report page built section by section; :meth:`write` saves it.

    Args:
        title: the page's heading and title.
        subtitle: a line under the heading (e.g. the command that made the run).
    """

    def __init__(self, title: str, subtitle: str = ""):
        self.title = title
        self.parts = [f"<h1>{text(title)}</h1>"]
        stamp = datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
        line = f"{subtitle} · {stamp}" if subtitle else stamp
        self.parts.append(f'<p class="r3d-sub">{text(line)}</p>')
        self.ids = Ids()
        self.has_viewer = False
        self.has_chart = False

    def heading(self, title: str) -> Report:
        self.parts.append(f"<h2>{text(title)}</h2>")
        return self

    def paragraph(self, words: str) -> Report:
        self.parts.append(f"<p>{text(words)}</p>")
        return self

    def table(self, rows: Sequence[Sequence], header: Sequence[str] | None = None) -> Report:
        """A table of ``rows`` (values: numbers right-aligned, others as text)."""
        html = ['<table class="r3d-table">']
        if header:
            html.append("<tr>" + "".join(f"<th>{text(h)}</th>" for h in header) + "</tr>")
        for row in rows:
            cells = []
            for value in row:
                shown, number = _cell(value)
                cells.append(f'<td class="r3d-num">{shown}</td>' if number
                             else f"<td>{shown}</td>")
            html.append("<tr>" + "".join(cells) + "</tr>")
        html.append("</table>")
        self.parts.append("".join(html))
        return self

    def metrics(self, values: dict, skip: Sequence[str] = ("files",)) -> Report:
        """``values`` (e.g. metrics.json) as a key / value table, nested keys dotted, and each
        list of records (e.g. per-view scores) as a table of its own."""
        shown = {k: v for k, v in values.items() if k not in skip}
        self.table(flatten(shown), ("metric", "value"))
        for key, value in shown.items():
            if isinstance(value, list) and value and isinstance(value[0], dict):
                columns = list(dict.fromkeys(c for record in value for c in record))
                self.parts.append(f"<p><b>{text(key)}</b></p>")
                self.table([[r.get(c) for c in columns] for r in value], columns)
        return self

    def code(self, source: str) -> Report:
        """A block of text shown as it is (a recipe, a command)."""
        self.parts.append(f'<pre class="r3d-code">{text(source)}</pre>')
        return self

    def images(self, images: Sequence[tuple[str, object]]) -> Report:
        """A grid of (caption, image) pairs; images as :func:`image_data_uri` takes them."""
        figures = [f'<figure><img src="{image_data_uri(image)}" alt="{text(caption)}">'
                   f"<figcaption>{text(caption)}</figcaption></figure>"
                   for caption, image in images]
        self.parts.append(f'<div class="r3d-grid">{"".join(figures)}</div>')
        return self

    def pairs(self, pairs: Sequence[tuple[str, object, object]],
              labels: tuple[str, str] = ("input", "result")) -> Report:
        """(caption, left image, right image) side by side per entry: an input beside the
        result for the same view."""
        figures = [f'<figure class="r3d-pair"><img src="{image_data_uri(left)}" '
                   f'alt="{text(labels[0])}: {text(caption)}"><img src="{image_data_uri(right)}" '
                   f'alt="{text(labels[1])}: {text(caption)}"><figcaption>{text(caption)}: '
                   f"{text(labels[0])} | {text(labels[1])}</figcaption></figure>"
                   for caption, left, right in pairs]
        self.parts.append(f'<div class="r3d-pairs">{"".join(figures)}</div>')
        return self

    def viewer(self, items: list[ViewItem], layout: str = "overlay",
               view: tuple[float, float] = VIEW) -> Report:
        """An interactive 3D viewer of ``items`` (see :mod:`r3d.vis.page`)."""
        self.parts.append(viewer_block(items, self.ids, layout, view))
        self.has_viewer = True
        return self

    def charts(self, charts: Sequence[tuple[str, list[Series], dict]]) -> Report:
        """Interactive line charts: (title, series, options of :func:`line_chart`) each."""
        html = [line_chart(self.ids("chart"), title, series, **options)
                for title, series, options in charts]
        self.parts.append(f'<div class="r3d-charts">{"".join(html)}</div>')
        self.has_chart = True
        return self

    def machine(self, info: dict, timings: dict | None = None) -> Report:
        """The machine (``r3d.runs.machine.machine_info``) and the run's timings."""
        if timings:
            self.heading("Timings").table(flatten(timings), ("timing", "value"))
        self.heading("Machine").table(flatten(info), ("", ""))
        return self

    def json(self, title: str, values) -> Report:
        """``values`` as indented JSON in a collapsed block."""
        self.parts.append(f"<details><summary>{text(title)}</summary><pre class=\"r3d-code\">"
                          f"{text(json.dumps(values, indent=2, default=str))}</pre></details>")
        return self

    def html(self) -> str:
        """The whole page."""
        body = "\n".join(self.parts)
        if self.has_chart:
            body += f"\n<script>{asset('report.js')}</script>"
        return document(self.title, body, viewer=self.has_viewer)

    def write(self, path) -> Path:
        """Writes the page to ``path`` atomically; returns the path."""
        write_html(path, self.html())
        return Path(path)
