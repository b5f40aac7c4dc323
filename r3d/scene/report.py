"""``report.html`` of a scene render (``r3d render``): the views and maps at a glance, the scene
in the 3D viewer, and how they were made.

It holds the render's summary, every rendered view (up to :data:`MAX_SHOWN`) as an image grid,
the depth, normal and silhouette maps the scene writes, the scene's geometry as the renderer
drew it (placed and joined, in world coordinates; a voxel grid as its isosurface) in the 3D
viewer seen from the first camera, the scene file (or the file a turntable was made of) and
the resolved scene, the files written, the timings and the machine.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from r3d.runs.reporting import view_angles
from r3d.scene.scene import Scene
from r3d.structures import Meshes, Pointclouds, Volumes
from r3d.vis import items_of
from r3d.vis.report import Report

__all__ = ["MAX_SHOWN", "Rendered", "write_render_report"]

# the views (and maps of each kind) shown at most, keeping the page small
MAX_SHOWN = 60
MAP_TITLES = {"depth": "Depth maps (near bright)", "normal": "Normal maps",
              "silhouette": "Silhouettes"}
SCENE_SUFFIXES = (".yaml", ".yml")


@dataclass
class Rendered:
    """What a render drew, for its report.

    Attributes:
        views: the first :data:`MAX_SHOWN` views as shown, (H, W, 3) uint8 each.
        maps: kind ("depth", "normal", "silhouette") -> the levels written for the same
            views: depth (H, W) uint16 (0 empty, near bright), normals (H, W, 3) uint8,
            silhouettes (H, W) uint8.
        geometry: the scene's geometry as drawn (one joined mesh or cloud, or the joined voxel
            grid as a one-item Volumes), in world coordinates.
        camera: the first view's camera centre (3,) and the point it looks at (3,), world
            coordinates.
    """

    views: list[np.ndarray]
    maps: dict[str, list[np.ndarray]]
    geometry: Meshes | Pointclouds | Volumes
    camera: tuple[np.ndarray, np.ndarray]


def _display(kind: str, levels: np.ndarray) -> np.ndarray:
    """A map's levels as an 8-bit image (16-bit depth reduced to 8 bits)."""
    return (levels // 257).astype(np.uint8) if kind == "depth" else levels


def _caption(kind: str, view: int, summary: dict) -> str:
    caption = f"view {view:03d}"
    ranges = summary.get("depth_range") or []
    if kind == "depth" and view < len(ranges):
        span = ranges[view]
        caption += f": depth {span[0]:.4g} – {span[1]:.4g}" if span else ": empty"
    return caption


def _source_section(report: Report, scene: Scene, source: Path | None) -> None:
    if source is not None and source.suffix.lower() in SCENE_SUFFIXES:
        report.heading("Scene file").paragraph(str(source))
        report.code(source.read_text(encoding="utf-8"))
    elif source is not None:
        report.heading("Scene").paragraph(f"A turntable of {source} (r3d render's defaults "
                                          "for a file, with the command line's choices).")
    report.json("The resolved scene", dataclasses.asdict(scene))


def _about(summary: dict) -> list[tuple[str, object]]:
    """The summary's key facts as table rows."""
    height, width = summary["image_size"]
    rows = [("views", summary["views"]), ("image size", f"{width} × {height}")]
    for key in ("shader", "points", "compositor", "raymarcher"):
        if key in summary:
            rows.append((key, summary[key]))
    if "voxels" in summary:
        rows.append(("voxels (D × H × W)", " × ".join(str(n) for n in summary["voxels"])))
    return [*rows, ("device", summary["device"]), ("seconds", summary["seconds"])]


def write_render_report(out: Path, *, scene: Scene, source: Path | None, summary: dict,
                        rendered: Rendered, machine: dict) -> Path:
    """Writes ``out/report.html``; returns its path.

    Args:
        scene: the scene rendered.
        source: the scene file (YAML, shown as it is) or the mesh, point cloud or voxel grid
            file a turntable was made of; None when the scene was built in code.
        summary: the render's summary (:func:`r3d.scene.run.render_scene`), its files
            included.
        rendered: what was drawn.
        machine: :func:`r3d.runs.machine.machine_info`.
    """
    report = Report("r3d render", f"r3d render · {source or 'a scene built in code'}")
    report.heading("Summary").table(_about(summary))
    n = summary["views"]
    shown = f" (the first {len(rendered.views)} of {n})" if len(rendered.views) < n else ""
    report.heading(f"Views{shown}")
    report.images([(f"view {i:03d}", image) for i, image in enumerate(rendered.views)])
    for kind, levels in rendered.maps.items():
        report.heading(MAP_TITLES.get(kind, kind))
        report.images([(_caption(kind, i, summary), _display(kind, image))
                       for i, image in enumerate(levels)])
    report.heading("The scene in 3D")
    names = [spec.file.name for spec in (*scene.meshes, *scene.pointclouds, *scene.volumes)]
    items = items_of(rendered.geometry, ", ".join(names))
    if isinstance(rendered.geometry, Volumes):
        report.paragraph("The voxel grid is shown as its isosurface at the mid density.")
        colours = {spec.colour for spec in scene.volumes}
        if len(colours) == 1 and None not in colours:
            items[0].color = "#" + "".join(f"{round(c * 255):02x}" for c in colours.pop())
    report.viewer(items, view=view_angles(*rendered.camera))
    _source_section(report, scene, source)
    report.heading("Files").table([(os.path.relpath(f, out),) for f in summary["files"]],
                                   ("file",))
    timings = {"seconds": summary["seconds"],
               "seconds_per_view": round(summary["seconds"] / max(n, 1), 4)}
    report.machine(machine, timings)
    return report.write(out / "report.html")
