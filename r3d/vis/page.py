"""Self-contained HTML pages: r3d's stylesheet, the vendored three.js bundle and the viewer
script inlined, geometry embedded as base64 GLB. A page makes no network request.

Text that came from files or users is escaped where it is written: :func:`text` for HTML,
:func:`script_json` for JSON inside ``<script>`` (``<``, ``>`` and ``&`` as ``\\u`` escapes, so
no value can close the script element).
"""

from __future__ import annotations

import base64
import html
import json
import math
from importlib import resources

from r3d.errors import InputError
from r3d.io import atomic_open
from r3d.vis.items import ViewItem

__all__ = [
    "Ids",
    "asset",
    "document",
    "script_json",
    "text",
    "viewer_block",
    "viewer_page",
    "write_html",
]


def text(value) -> str:
    """``value`` as HTML text (quotes escaped too, so it is safe in attributes)."""
    return html.escape(str(value), quote=True)


def script_json(value) -> str:
    """``value`` as JSON safe inside a ``<script>`` element."""
    encoded = json.dumps(value, separators=(",", ":"), allow_nan=False)
    return encoded.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


# colours of items without their own, in order
PALETTE = ("#9db3cf", "#e3a869", "#88bf86", "#c98bb9", "#d9d36f", "#7fc4c4")
# the first camera's (azimuth, elevation), degrees
VIEW = (30.0, 20.0)


def _view(view: tuple[float, float]) -> dict:
    azimuth, elevation = (float(v) for v in view)
    if not (math.isfinite(azimuth) and -90 <= elevation <= 90):
        raise InputError(f"view: azimuth must be finite and elevation in [-90, 90] degrees, "
                         f"got ({azimuth}, {elevation})")
    return {"azimuth": azimuth, "elevation": elevation}


def asset(name: str) -> str:
    """The text of ``assets/NAME`` of this package (scripts, stylesheet)."""
    return resources.files("r3d.vis").joinpath("assets", name).read_text(encoding="utf-8")


class Ids:
    """Element ids unique within one page."""

    def __init__(self):
        self.n = 0

    def __call__(self, prefix: str) -> str:
        self.n += 1
        return f"r3d-{prefix}-{self.n}"


def viewer_block(items: list[ViewItem], ids: Ids, layout: str = "overlay",
                 view: tuple[float, float] = VIEW) -> str:
    """The HTML of one viewer (a ``div.r3d-viewer``, its JSON configuration and its items' GLB
    as base64 ``<script>`` elements); ``layout`` "overlay" (items in place) or "side" (side by
    side along x); ``view`` the first camera's (azimuth, elevation) in degrees, PyTorch3D's
    (azimuth 0 looks from +z, 90 from +x)."""
    parts, config = [], []
    uncoloured = 0
    for item in items:
        color = item.color
        if color is None and not item.own_colors:
            color = PALETTE[uncoloured % len(PALETTE)]
            uncoloured += 1
        glb_id = None
        if item.glb is not None:
            glb_id = ids("glb")
            data = base64.b64encode(item.glb).decode("ascii")
            parts.append(f'<script type="application/octet-stream" id="{glb_id}">{data}'
                         f"</script>")
        config.append({"name": item.name, "kind": item.kind, "glb": glb_id,
                       "lines": item.lines, "note": item.note, "color": color,
                       "plain": item.plain, "opacity": item.opacity, "wireframe": item.wireframe,
                       "pointSize": item.point_size})
    config_id = ids("config")
    settings = {"items": config, "layout": layout, "view": _view(view)}
    parts.append(f'<script type="application/json" id="{config_id}">{script_json(settings)}'
                 f"</script>")
    parts.append(f'<div class="r3d-viewer" data-config="{config_id}"></div>')
    return "\n".join(parts)


def document(title: str, body: str, *, viewer: bool, full: bool = False) -> str:
    """A whole HTML page: ``title`` (escaped here), ``body`` (HTML), the stylesheet, and, with
    ``viewer``, three.js and the viewer script; ``full`` sizes one viewer to the window."""
    # pages without a viewer are ready once parsed (the viewer says so itself when it drew)
    scripts = '<script>document.body.dataset.r3dReady = "1";</script>\n'
    if viewer:
        scripts = (f"<script>{asset('three.bundle.min.js')}</script>\n"
                   f"<script>{asset('viewer.js')}</script>\n")
    classes = "r3d-page r3d-full" if full else "r3d-page"
    return (f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"<meta name=\"generator\" content=\"r3d\">\n<title>{text(title)}</title>\n"
            f"<style>{asset('viewer.css')}</style>\n</head>\n"
            f'<body class="{classes}">\n<main>\n{body}\n</main>\n{scripts}</body>\n</html>\n')


def viewer_page(items: list[ViewItem], title: str, layout: str = "overlay",
                view: tuple[float, float] = VIEW) -> str:
    """The page of one viewer filling the window, headed by ``title``; ``layout`` and ``view``
    as :func:`viewer_block`'s."""
    body = f"<h1>{text(title)}</h1>\n{viewer_block(items, Ids(), layout, view)}"
    return document(title, body, viewer=True, full=True)


def write_html(path, page: str) -> None:
    """Writes ``page`` to ``path`` atomically (UTF-8)."""
    with atomic_open(path, "w", encoding="utf-8", newline="\n") as handle:
        handle.write(page)
