"""Reading r3d's report pages back in tests: the parts of a ``report.html`` that a reader sees
(title, headings, images, table cells, charts, viewers and their embedded GLB)."""

from __future__ import annotations

import base64
import io
import json
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
from PIL import Image

GLB_MAGIC = b"glTF"


@dataclass
class Page:
    """What a page holds: its title, h2 headings, image sources, table cells (as text),
    viewers (their JSON configuration), embedded GLB files (bytes by element id), charts (the
    names of their series) and the number of chart polylines."""

    title: str = ""
    headings: list[str] = field(default_factory=list)
    images: list[str] = field(default_factory=list)
    cells: list[str] = field(default_factory=list)
    viewers: list[dict] = field(default_factory=list)
    glb: dict[str, bytes] = field(default_factory=dict)
    charts: list[list[str]] = field(default_factory=list)
    polylines: int = 0
    svgs: int = 0


class _Reader(HTMLParser):
    def __init__(self):
        super().__init__()
        self.page = Page()
        self.tag = None  # the element whose text is collected: title, h2, td or a script
        self.attrs: dict = {}
        self.buffer: list[str] = []
        self.json: dict[str, dict] = {}
        self.viewer_configs: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "img":
            self.page.images.append(attrs.get("src", ""))
        elif tag == "polyline":
            self.page.polylines += 1
        elif tag == "svg":
            self.page.svgs += 1
        elif tag == "div" and "r3d-viewer" in attrs.get("class", "").split():
            self.viewer_configs.append(attrs["data-config"])
        if tag in ("title", "h2", "td", "script"):
            self.tag, self.attrs, self.buffer = tag, attrs, []

    def handle_data(self, data):
        if self.tag is not None:
            self.buffer.append(data)

    def handle_endtag(self, tag):
        if tag != self.tag:
            return
        content = "".join(self.buffer)
        if tag == "title":
            self.page.title = content
        elif tag == "h2":
            self.page.headings.append(content)
        elif tag == "td":
            self.page.cells.append(content)
        elif self.attrs.get("type") == "application/octet-stream":
            self.page.glb[self.attrs["id"]] = base64.b64decode(content)
        elif self.attrs.get("class") == "r3d-chart-data":
            self.page.charts.append([s["name"] for s in json.loads(content)["series"]])
        elif self.attrs.get("type") == "application/json" and "id" in self.attrs:
            self.json[self.attrs["id"]] = json.loads(content)
        self.tag = None


def read_page(path: str | Path) -> Page:
    """The parts of the page at ``path``."""
    reader = _Reader()
    reader.feed(Path(path).read_text(encoding="utf-8"))
    reader.page.viewers = [reader.json[config] for config in reader.viewer_configs]
    return reader.page


def decoded(uri: str) -> np.ndarray:
    """The pixels of an image data URI."""
    with Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1]))) as image:
        return np.asarray(image)


def data_images(page: Page) -> list[str]:
    """The page's images embedded as PNG or GIF data URIs."""
    return [src for src in page.images
            if src.startswith(("data:image/png;base64,", "data:image/gif;base64,"))]


def viewer_items(page: Page) -> list[dict]:
    """The items of every viewer of the page, each checked to embed a GLB file."""
    items = [item for viewer in page.viewers for item in viewer["items"]]
    for item in items:
        assert page.glb[item["glb"]][:4] == GLB_MAGIC, item["name"]
    return items
