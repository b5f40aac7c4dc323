"""Procedural shapes: seeded families of objects built from primitives, rendered to a dataset.

Shapes. :func:`make_shape` assembles one object of a family (:data:`FAMILIES`: chair, table,
lamp, mug, airplane) from closed primitives (boxes, capped cylinders and truncated cones,
superquadrics, tori) whose proportions and colours are drawn from a ``torch.Generator``. Each
part is a closed surface with outward (counter-clockwise seen from outside) faces; parts may
overlap. The result is one mesh (the parts joined) with a colour per vertex
(:class:`~r3d.renderer.TexturesVertex`, one colour per part), centred (bounding-box centre at
the origin) and scaled so that its farthest vertex is :data:`SHAPE_RADIUS` from the origin,
with +y up and its front towards +z (a chair's seat faces +z, an airplane's nose points to +z).

Dataset. :func:`make_dataset` writes, and :class:`ProceduralShapes` reads::

    <out>/dataset.json                 # {"format": "r3d-procedural-shapes", "version": 1,
                                       #  "r3d_version": "0.1.0",
                                       #  "params": {"families": [...], "shapes_per_family": 20,
                                       #             "views": 8, "image_size": 64, "seed": 0,
                                       #             "splits": [0.7, 0.15, 0.15]},
                                       #  "render": {...the fixed view and light settings}}
    <out>/splits.json                  # {"train": ["chair/0003", ...], "val": [...],
                                       #  "test": [...]}: "<family>/<shape_id>" keys, sorted
    <out>/<family>/<shape_id>/mesh.obj # the shape: "v x y z r g b" lines (vertex colours)
    <out>/<family>/<shape_id>/views/   # r3d.views format (load_views reads it):
        cameras.json                   #   FoVPerspectiveCameras (R, T, fov in degrees, znear,
                                       #   zfar), written last
        view_000.png ...               #   RGBA: Phong-shaded colour (white background), alpha =
                                       #   the silhouette (hard, 0 or 1)
        depth_000.npy ...              #   (H, W) float32 view-space depth, 0 on the background

Shape ids are ``0000``, ``0001``, ... per family. Views: azimuth uniform in [0, 360) degrees,
elevation uniform in [-10, 40], distance uniform in [2.5, 2.7], fov uniform in [45, 60] degrees,
cameras looking at the origin with +y up; one directional light fixed in the world (from above,
front and right), hard Phong shading, no anti-aliasing (so the silhouettes, depths and colours
cover the same pixels). Every shape fits the view of every camera (``SHAPE_RADIUS`` /
distance < sin(fov / 2)).

Determinism: shape ``i`` of a family depends only on (seed, family, i), its views only on (seed,
family, i, views), and the splits on (seed, families, shapes_per_family, splits): the same
parameters give identical files, and adding a family or shapes does not change the others.
Splits are by shape (never by view) and stratified: each family's shapes are shuffled and cut
by the fractions (largest remainders round the counts).

Writing. dataset.json is written first, each shape into a hidden temporary folder renamed into
place once its files are all written, and splits.json last; a folder holding splits.json and
every shape is complete, and an interrupted run never leaves a shape folder that looks complete.
A rerun with the same parameters only makes what is missing (nothing, when complete).
"""

from __future__ import annotations

import difflib
import hashlib
import json
import math
import os
import shutil
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch

import r3d
from r3d.errors import FileFormatError, InputError
from r3d.io import atomic_open, load_obj, save_obj
from r3d.renderer import (
    BlendParams,
    DirectionalLights,
    FoVPerspectiveCameras,
    HardPhongShader,
    Materials,
    MeshRasterizer,
    MeshRendererWithFragments,
    RasterizationSettings,
    TexturesVertex,
    look_at_view_transform,
)
from r3d.runs.devices import resolve_device
from r3d.structures import Meshes, join_meshes_as_scene
from r3d.transforms.rotation_conversions import axis_angle_to_matrix
from r3d.utils import torus
from r3d.views import load_views, save_views

__all__ = [
    "FAMILIES",
    "SHAPE_RADIUS",
    "SPLITS",
    "ProceduralShapes",
    "make_dataset",
    "make_shape",
    "render_views",
    "superquadric",
]

FAMILIES = ("chair", "table", "lamp", "mug", "airplane")
SPLITS = ("train", "val", "test")
# farthest vertex from the origin: below sin(fov / 2) * distance for the nearest, narrowest view
SHAPE_RADIUS = 0.95
FORMAT = "r3d-procedural-shapes"
VERSION = 1
DATASET_FILE = "dataset.json"
SPLITS_FILE = "splits.json"
MESH_FILE = "mesh.obj"
VIEWS_FOLDER = "views"

# the fixed view and light settings (recorded in dataset.json under "render")
ELEVATION = (-10.0, 40.0)  # degrees
DISTANCE = (2.5, 2.7)
FOV = (45.0, 60.0)  # degrees
ZNEAR, ZFAR = 0.1, 10.0
LIGHT_DIRECTION = (0.4, 1.0, 0.6)  # towards the light, world space
LIGHT = {"ambient": 0.45, "diffuse": 0.6, "specular": 0.15}
SHININESS = 32.0
BACKGROUND = (1.0, 1.0, 1.0)

Part = tuple[torch.Tensor, torch.Tensor, torch.Tensor]  # verts (V, 3), faces (F, 3), rgb (3,)
Progress = Callable[[int, int], None]  # (shapes done, shapes in all)


# ---- primitives ---------------------------------------------------------------------------------
# Each returns float64 verts (V, 3) and int64 faces (F, 3) of a closed surface, counter-clockwise
# seen from outside. Vertices are duplicated along sharp edges (box edges, cylinder rims) so
# that the meshes' vertex normals keep those edges sharp under Phong shading.


def box(size: Sequence[float], center: Sequence[float] = (0.0, 0.0, 0.0)
        ) -> tuple[torch.Tensor, torch.Tensor]:
    """An axis-aligned box of ``size`` (sx, sy, sz) centred at ``center``: 24 verts (4 per
    side), 12 faces."""
    half = torch.tensor(size, dtype=torch.float64) / 2
    c = torch.tensor(center, dtype=torch.float64)
    verts, faces = [], []
    for axis in range(3):
        for sign in (1.0, -1.0):
            # e_u x e_v = sign e_axis, so (-,-), (+,-), (+,+), (-,+) turns counter-clockwise
            u, v = (axis + 1) % 3, (axis + 2) % 3
            if sign < 0:
                u, v = v, u
            base = len(verts)
            for su, sv in ((-1, -1), (1, -1), (1, 1), (-1, 1)):
                p = c.clone()
                p[axis] += sign * half[axis]
                p[u] += su * half[u]
                p[v] += sv * half[v]
                verts.append(p)
            faces += [(base, base + 1, base + 2), (base, base + 2, base + 3)]
    return torch.stack(verts), torch.tensor(faces, dtype=torch.int64)


def cylinder(radius_bottom: float, radius_top: float, height: float, segments: int = 24,
             center: Sequence[float] = (0.0, 0.0, 0.0)) -> tuple[torch.Tensor, torch.Tensor]:
    """A closed cylinder along +y (a truncated cone when the radii differ), centred at
    ``center``: side rings and caps (each a fan around its centre vertex) have their own
    vertices, 4 segments + 2 in all, and 4 segments faces."""
    n = segments
    theta = torch.arange(n, dtype=torch.float64) * (2 * math.pi / n)
    c = torch.tensor(center, dtype=torch.float64)

    def ring(r: float, y: float) -> torch.Tensor:
        # x = r sin(theta), z = r cos(theta): the angle turns from +z towards +x
        return torch.stack([r * torch.sin(theta), torch.full_like(theta, y),
                            r * torch.cos(theta)], 1) + c

    y0, y1 = -height / 2, height / 2
    verts = torch.cat([ring(radius_bottom, y0), ring(radius_top, y1),  # side: 0..n-1, n..2n-1
                       ring(radius_bottom, y0), ring(radius_top, y1),  # caps: 2n.., 3n..
                       c + torch.tensor([[0.0, y0, 0.0], [0.0, y1, 0.0]], dtype=torch.float64)])
    j = torch.arange(n)
    k = (j + 1) % n
    bottom_centre, top_centre = 4 * n, 4 * n + 1
    faces = torch.cat([
        torch.stack([j, k, n + k], 1), torch.stack([j, n + k, n + j], 1),  # side, outward
        torch.stack([torch.full_like(j, top_centre), 3 * n + j, 3 * n + k], 1),  # +y
        torch.stack([torch.full_like(j, bottom_centre), 2 * n + k, 2 * n + j], 1),  # -y
    ])
    return verts, faces


def _signed_power(x: torch.Tensor, e: float) -> torch.Tensor:
    return torch.sign(x) * x.abs() ** e


def superquadric(radii: Sequence[float], e1: float, e2: float, rings: int = 16,
                 segments: int = 24, center: Sequence[float] = (0.0, 0.0, 0.0)
                 ) -> tuple[torch.Tensor, torch.Tensor]:
    """A superquadric (superellipsoid) with poles on the y axis, as a UV-sphere-like grid.

    The point at latitude eta in [-pi/2, pi/2] and longitude omega in [0, 2 pi) is
    (rx c(eta)^e1 c(omega)^e2, ry s(eta)^e1, rz c(eta)^e1 s(omega)^e2), where c and s are cos
    and sin and x^e = sign(x) |x|^e: e1 shapes the profile along y and e2 the cross-section
    (1: round, -> 0: square, 2: diamond). Watertight: one vertex per pole and shared seams.

    Args:
        radii: (rx, ry, rz) semi-axes. e1, e2: positive exponents.
        rings: latitude bands (>= 2); segments: longitude steps (>= 3).
        center: where the centre goes.
    Returns:
        verts (2 + (rings - 1) segments, 3) float64 and faces (2 (rings - 1) segments, 3) int64,
        counter-clockwise seen from outside.
    """
    if rings < 2 or segments < 3 or not (e1 > 0 and e2 > 0):
        raise InputError(f"superquadric: needs rings >= 2, segments >= 3 and exponents > 0, got "
                         f"rings={rings}, segments={segments}, e1={e1}, e2={e2}")
    rx, ry, rz = (float(r) for r in radii)
    eta = -math.pi / 2 + torch.arange(1, rings, dtype=torch.float64) * (math.pi / rings)
    omega = torch.arange(segments, dtype=torch.float64) * (2 * math.pi / segments)
    ce, se = _signed_power(torch.cos(eta), e1)[:, None], _signed_power(torch.sin(eta), e1)[:, None]
    co, so = _signed_power(torch.cos(omega), e2)[None], _signed_power(torch.sin(omega), e2)[None]
    grid = torch.stack([rx * ce * co, (ry * se).expand(-1, segments), rz * ce * so], -1)
    c = torch.tensor(center, dtype=torch.float64)
    verts = torch.cat([torch.tensor([[0.0, -ry, 0.0]], dtype=torch.float64), grid.reshape(-1, 3),
                       torch.tensor([[0.0, ry, 0.0]], dtype=torch.float64)]) + c
    top = verts.shape[0] - 1
    j = torch.arange(segments)
    k = (j + 1) % segments
    # d/d(eta) x d/d(omega) points outwards: (i, j) -> (i + 1, j) -> (i + 1, j + 1) turns
    # counter-clockwise seen from outside
    faces = [torch.stack([torch.zeros_like(j), 1 + j, 1 + k], 1)]  # bottom fan
    for i in range(rings - 2):
        a, b = 1 + i * segments + j, 1 + (i + 1) * segments + j
        c_, d = 1 + (i + 1) * segments + k, 1 + i * segments + k
        faces += [torch.stack([a, b, c_], 1), torch.stack([a, c_, d], 1)]
    last = 1 + (rings - 2) * segments
    faces.append(torch.stack([last + j, torch.full_like(j, top), last + k], 1))  # top fan
    return verts, torch.cat(faces)


def _torus(tube: float, radius: float, center: Sequence[float]
           ) -> tuple[torch.Tensor, torch.Tensor]:
    """r3d.utils.torus (around the z axis) moved to ``center``, as float64."""
    mesh = torus(tube, radius, sides=12, rings=28)
    return mesh.verts_packed().double() + torch.tensor(center, dtype=torch.float64), \
        mesh.faces_packed()


def _rotated(verts: torch.Tensor, axis_angle: Sequence[float],
             pivot: Sequence[float] = (0.0, 0.0, 0.0)) -> torch.Tensor:
    """``verts`` (V, 3) rotated about ``pivot`` by an axis-angle (radians); winding is kept."""
    m = axis_angle_to_matrix(torch.tensor(axis_angle, dtype=torch.float64))
    p = torch.tensor(pivot, dtype=torch.float64)
    return (verts - p) @ m.T + p


# ---- random proportions and colours -------------------------------------------------------------


def _uniform(g: torch.Generator, lo: float, hi: float) -> float:
    return lo + (hi - lo) * float(torch.rand((), generator=g, dtype=torch.float64))


def _chance(g: torch.Generator, p: float) -> bool:
    return float(torch.rand((), generator=g, dtype=torch.float64)) < p


def _colour(g: torch.Generator, palette: Sequence[Sequence[float]],
            jitter: float = 0.06) -> torch.Tensor:
    """One of the palette's RGB colours, each channel moved by up to +-jitter."""
    i = int(torch.randint(len(palette), (), generator=g))
    noise = (torch.rand(3, generator=g, dtype=torch.float64) * 2 - 1) * jitter
    return (torch.tensor(palette[i], dtype=torch.float64) + noise).clamp(0.0, 1.0)


WOOD = ((0.55, 0.35, 0.2), (0.7, 0.5, 0.3), (0.4, 0.25, 0.15), (0.8, 0.65, 0.45))
METAL = ((0.6, 0.6, 0.62), (0.3, 0.3, 0.32), (0.75, 0.7, 0.55))
FABRIC = ((0.7, 0.15, 0.15), (0.15, 0.3, 0.6), (0.2, 0.5, 0.3), (0.85, 0.8, 0.7),
          (0.25, 0.25, 0.25))
BRIGHT = ((0.9, 0.3, 0.2), (0.95, 0.75, 0.2), (0.2, 0.55, 0.85), (0.3, 0.7, 0.4),
          (0.95, 0.95, 0.92), (0.6, 0.3, 0.7))
LIVERY = ((0.92, 0.92, 0.94), (0.75, 0.78, 0.82), (0.2, 0.3, 0.55), (0.85, 0.2, 0.2))


def _legs(half_x: float, half_z: float, height: float, thick: float,
          round_: bool) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Four legs from y = 0 to ``height`` whose centres are at (+-half_x, +-half_z)."""
    legs = []
    for sx in (-1.0, 1.0):
        for sz in (-1.0, 1.0):
            centre = (sx * half_x, height / 2, sz * half_z)
            legs.append(cylinder(thick / 2, thick / 2, height, 12, centre) if round_
                        else box((thick, height, thick), centre))
    return legs


# ---- families -----------------------------------------------------------------------------------


def _chair(g: torch.Generator) -> list[Part]:
    """Seat, back (maybe tilted), four legs (square or round), maybe armrests."""
    w, d, t = _uniform(g, 0.8, 1.2), _uniform(g, 0.8, 1.1), _uniform(g, 0.06, 0.14)
    h = _uniform(g, 0.8, 1.1)
    lt, inset = _uniform(g, 0.06, 0.12), _uniform(g, 0.0, 0.08)
    frame, cushion = _colour(g, WOOD + METAL), _colour(g, FABRIC + WOOD)
    parts: list[Part] = [(*box((w, t, d), (0.0, h + t / 2, 0.0)), cushion)]
    legs = _legs(w / 2 - lt / 2 - inset, d / 2 - lt / 2 - inset, h, lt, _chance(g, 0.4))
    parts += [(*leg, frame) for leg in legs]
    bh, bt, bw = _uniform(g, 0.7, 1.2), _uniform(g, 0.05, 0.12), w * _uniform(g, 0.75, 1.0)
    back_v, back_f = box((bw, bh, bt), (0.0, h + t + bh / 2, -d / 2 + bt / 2))
    tilt = math.radians(_uniform(g, 0.0, 14.0))  # leans backwards, about the back's bottom edge
    back_v = _rotated(back_v, (-tilt, 0.0, 0.0), (0.0, h + t, -d / 2 + bt / 2))
    parts.append((back_v, back_f, cushion))
    if _chance(g, 0.35):
        at, ah = _uniform(g, 0.05, 0.09), _uniform(g, 0.2, 0.35)
        for sx in (-1.0, 1.0):
            x = sx * (w / 2 - at / 2)
            parts.append((*box((at, at, d * 0.9), (x, h + t + ah + at / 2, 0.0)), frame))
            parts.append((*box((at, ah, at), (x, h + t + ah / 2, d * 0.45 - at / 2)), frame))
    return parts


def _table(g: torch.Generator) -> list[Part]:
    """Top (rectangular or round) on four legs or a pedestal, maybe a shelf."""
    h, t = _uniform(g, 0.6, 0.9), _uniform(g, 0.04, 0.1)
    top_c, leg_c = _colour(g, WOOD + BRIGHT[4:5]), _colour(g, WOOD + METAL)
    round_top = _chance(g, 0.4)
    if round_top:
        r = _uniform(g, 0.55, 0.9)
        parts: list[Part] = [(*cylinder(r, r, t, 40, (0.0, h + t / 2, 0.0)), top_c)]
        half_x = half_z = r * _uniform(g, 0.4, 0.6)  # the legs' diagonal stays under the top
        size = r
    else:
        w, d = _uniform(g, 1.0, 1.8), _uniform(g, 0.6, 1.1)
        parts = [(*box((w, t, d), (0.0, h + t / 2, 0.0)), top_c)]
        half_x, half_z = w / 2 * _uniform(g, 0.8, 0.92), d / 2 * _uniform(g, 0.75, 0.9)
        size = min(w, d) / 2
    if _chance(g, 0.35):  # pedestal: a column on a disc
        pr, br, bt = _uniform(g, 0.04, 0.09), size * _uniform(g, 0.5, 0.8), _uniform(g, 0.03, 0.06)
        parts.append((*cylinder(pr, pr, h, 16, (0.0, h / 2, 0.0)), leg_c))
        parts.append((*cylinder(br, br * _uniform(g, 0.7, 1.0), bt, 32, (0.0, bt / 2, 0.0)),
                      leg_c))
        return parts
    lt = _uniform(g, 0.05, 0.1)
    parts += [(*leg, leg_c) for leg in _legs(half_x, half_z, h, lt, _chance(g, 0.5))]
    if not round_top and _chance(g, 0.3):  # a shelf between the legs
        sy = _uniform(g, 0.12, 0.3) * h
        parts.append((*box((2 * half_x, t * 0.7, 2 * half_z), (0.0, sy, 0.0)), top_c))
    return parts


def _lamp(g: torch.Generator) -> list[Part]:
    """Base (disc or block), pole, shade (a truncated cone, wider at the bottom)."""
    bt, br = _uniform(g, 0.04, 0.1), _uniform(g, 0.2, 0.35)
    base_c, shade_c = _colour(g, METAL + WOOD[:1]), _colour(g, BRIGHT + FABRIC[3:4])
    if _chance(g, 0.3):
        base = box((2 * br, bt, 2 * br * _uniform(g, 0.7, 1.0)), (0.0, bt / 2, 0.0))
    else:
        base = cylinder(br, br * _uniform(g, 0.8, 1.0), bt, 32, (0.0, bt / 2, 0.0))
    pr, ph = _uniform(g, 0.015, 0.035), _uniform(g, 0.8, 1.4)
    pole = cylinder(pr, pr, ph, 12, (0.0, bt + ph / 2, 0.0))
    sr, sh = _uniform(g, 0.22, 0.45), _uniform(g, 0.25, 0.45)
    shade_y = bt + ph - sh * _uniform(g, 0.1, 0.4)  # the pole ends inside the shade
    shade = cylinder(sr, sr * _uniform(g, 0.45, 0.9), sh, 32, (0.0, shade_y, 0.0))
    return [(*base, base_c), (*pole, base_c), (*shade, shade_c)]


def _mug(g: torch.Generator) -> list[Part]:
    """Body (a cylinder, maybe flared) and a handle (a torus in the xy plane, on the +x side)."""
    r, h = _uniform(g, 0.3, 0.45), _uniform(g, 0.7, 1.1)
    body_c = _colour(g, BRIGHT)
    handle_c = body_c if _chance(g, 0.6) else _colour(g, BRIGHT)
    rt = r * _uniform(g, 1.0, 1.15)
    body = cylinder(r, rt, h, 40, (0.0, h / 2, 0.0))
    hr, tube = _uniform(g, 0.18, 0.3) * h, _uniform(g, 0.03, 0.06)
    handle = _torus(tube, hr, ((r + rt) / 2 + hr * _uniform(g, 0.2, 0.45), h / 2, 0.0))
    return [(*body, body_c), (*handle, handle_c)]


def _airplane(g: torch.Generator) -> list[Part]:
    """Fuselage (a superquadric along z, nose at +z), swept wings, tailplane, fin, maybe two
    engines."""
    length, rf = _uniform(g, 2.0, 3.0), _uniform(g, 0.12, 0.2)
    body_c, wing_c = _colour(g, LIVERY), _colour(g, LIVERY)
    # the superquadric's poles are on y; rotating +90 degrees about x takes +y to +z
    fuselage = superquadric((rf, length / 2, rf * _uniform(g, 0.9, 1.15)),
                            _uniform(g, 0.4, 1.0), 1.0, 20, 24)
    parts: list[Part] = [(_rotated(fuselage[0], (math.pi / 2, 0.0, 0.0)), fuselage[1], body_c)]
    span, chord = length * _uniform(g, 0.85, 1.25), _uniform(g, 0.3, 0.55)
    wt, wy, wz = _uniform(g, 0.03, 0.06), rf * _uniform(g, -0.6, 0.3), _uniform(g, -0.15, 0.25)
    sweep = math.radians(_uniform(g, 0.0, 25.0))
    for sx in (-1.0, 1.0):  # each wing from the axis outwards, swept back about its root
        v, f = box((span / 2, wt, chord), (sx * span / 4, wy, wz))
        parts.append((_rotated(v, (0.0, sx * sweep, 0.0), (0.0, wy, wz)), f, wing_c))
    tail_z = -length / 2 + _uniform(g, 0.15, 0.3)
    ts, tc = span * _uniform(g, 0.25, 0.4), _uniform(g, 0.18, 0.3)
    parts.append((*box((ts, wt * 0.8, tc), (0.0, rf * 0.3, tail_z)), wing_c))
    fh, fc = _uniform(g, 0.3, 0.5), _uniform(g, 0.25, 0.4)
    fin_v, fin_f = box((wt * 0.8, fh, fc), (0.0, fh / 2, tail_z))
    fin_v = _rotated(fin_v, (-math.radians(_uniform(g, 0.0, 30.0)), 0.0, 0.0), (0.0, 0.0, tail_z))
    parts.append((fin_v, fin_f, body_c))
    if _chance(g, 0.5):
        er, el = _uniform(g, 0.05, 0.09), _uniform(g, 0.3, 0.5)
        ex = span * _uniform(g, 0.15, 0.3)
        for sx in (-1.0, 1.0):
            v, f = cylinder(er, er * 0.85, el, 16)
            v = _rotated(v, (math.pi / 2, 0.0, 0.0))  # along z
            back = ex * math.tan(sweep)  # follow the swept wing
            parts.append((v + torch.tensor([sx * ex, wy - wt / 2 - er, wz + 0.1 - back],
                                           dtype=torch.float64), f, _colour(g, METAL)))
    return parts


_BUILDERS: dict[str, Callable[[torch.Generator], list[Part]]] = {
    "chair": _chair, "table": _table, "lamp": _lamp, "mug": _mug, "airplane": _airplane,
}


def _check_family(op: str, family: object) -> str:
    if not (isinstance(family, str) and family in _BUILDERS):
        close = difflib.get_close_matches(str(family), FAMILIES, n=1)
        hint = f"did you mean '{close[0]}'? " if close else ""
        raise InputError(f"{op}: unknown family {family!r}; {hint}families: "
                         f"{', '.join(FAMILIES)}")
    return str(family)


def make_shape(family: str, generator: torch.Generator | None = None) -> Meshes:
    """One random shape of ``family``, built from primitives.

    Args:
        family: one of :data:`FAMILIES`.
        generator: a CPU ``torch.Generator`` drawing the proportions and colours (the same
            generator state gives the same shape); None: torch's default generator.
    Returns:
        Meshes of one mesh on the CPU: verts (V, 3) float32 centred (bounding-box centre at the
        origin) with the farthest one at :data:`SHAPE_RADIUS`, y up, front towards +z; faces
        (F, 3) int64, each part closed and counter-clockwise seen from outside; textures a
        TexturesVertex of (V, 3) RGB colours in [0, 1], one colour per part.
    """
    family = _check_family("make_shape", family)
    if generator is None:
        generator = torch.default_generator
    if not isinstance(generator, torch.Generator) or generator.device.type != "cpu":
        raise InputError(f"make_shape: generator must be a CPU torch.Generator, got "
                         f"{generator!r}")
    parts = _BUILDERS[family](generator)
    verts = torch.cat([v for v, _, _ in parts])
    lo, hi = verts.min(0).values, verts.max(0).values
    centre = (lo + hi) / 2
    scale = SHAPE_RADIUS / float((verts - centre).norm(dim=1).max())
    meshes = [
        Meshes(verts=[((v - centre) * scale).float()], faces=[f],
               textures=TexturesVertex([rgb.float().expand(v.shape[0], 3).contiguous()]))
        for v, f, rgb in parts
    ]
    return join_meshes_as_scene(meshes)


# ---- rendering ----------------------------------------------------------------------------------


def render_views(
    mesh: Meshes, views: int, image_size: int, generator: torch.Generator,
    device: torch.device | str = "cpu",
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, FoVPerspectiveCameras]:
    """Random views of one mesh with vertex colours (the dataset's camera and light settings).

    Args:
        mesh: Meshes of one mesh with a TexturesVertex.
        views: V, the number of views.
        image_size: S, the side of the square images in pixels.
        generator: a CPU generator drawing the cameras.
        device: where to render.
    Returns:
        images (V, S, S, 3) in [0, 1] (white background), masks (V, S, S) in {0, 1}, depths
        (V, S, S) view-space depth (0 on the background), all float32 on the CPU, and the V
        cameras (on the CPU).
    """
    def draw(lo: float, hi: float) -> torch.Tensor:
        return lo + (hi - lo) * torch.rand(views, generator=generator, dtype=torch.float64)

    azim, elev = draw(0.0, 360.0), draw(*ELEVATION)
    dist, fov = draw(*DISTANCE), draw(*FOV)
    R, T = look_at_view_transform(dist.float(), elev.float(), azim.float())
    cameras = FoVPerspectiveCameras(znear=ZNEAR, zfar=ZFAR, fov=fov.float(), R=R, T=T)
    dev = torch.device(device)
    lights = DirectionalLights(
        ambient_color=[[LIGHT["ambient"]] * 3], diffuse_color=[[LIGHT["diffuse"]] * 3],
        specular_color=[[LIGHT["specular"]] * 3], direction=[LIGHT_DIRECTION], device=dev)
    materials = Materials(specular_color=[[1.0] * 3], shininess=SHININESS, device=dev)
    renderer = MeshRendererWithFragments(
        rasterizer=MeshRasterizer(raster_settings=RasterizationSettings(image_size=image_size)),
        shader=HardPhongShader(device=dev, lights=lights, materials=materials,
                               blend_params=BlendParams(background_color=BACKGROUND)),
    )
    with torch.no_grad():
        images, fragments = renderer(mesh.to(dev).extend(views), cameras=cameras.clone().to(dev))
    covered = fragments.pix_to_face[..., 0] >= 0
    depths = torch.where(covered, fragments.zbuf[..., 0], torch.zeros_like(fragments.zbuf[..., 0]))
    return (images[..., :3].clamp(0, 1).float().cpu(), covered.float().cpu(),
            depths.float().cpu(), cameras)


# ---- the dataset --------------------------------------------------------------------------------


def _seed(*parts: object) -> int:
    """A 63-bit seed from the parts (stable across processes and platforms)."""
    digest = hashlib.sha256("/".join(str(p) for p in parts).encode()).digest()
    return int.from_bytes(digest[:8], "little") & (2**63 - 1)


def _generator(*parts: object) -> torch.Generator:
    return torch.Generator().manual_seed(_seed(*parts))


def _shape_ids(n: int) -> list[str]:
    return [f"{i:04d}" for i in range(n)]


def _split_counts(n: int, fractions: Sequence[float]) -> list[int]:
    """n cut by the fractions, rounded by largest remainders (earlier splits win ties)."""
    exact = [f * n for f in fractions]
    counts = [math.floor(x) for x in exact]
    order = sorted(range(len(exact)), key=lambda i: (-(exact[i] - counts[i]), i))
    for i in order[: n - sum(counts)]:
        counts[i] += 1
    return counts


def make_splits(families: Sequence[str], shapes_per_family: int, seed: int,
                fractions: Sequence[float]) -> dict[str, list[str]]:
    """{"train", "val", "test"}: sorted "<family>/<shape_id>" keys, each family's shapes
    shuffled (seeded) and cut by ``fractions``."""
    splits: dict[str, list[str]] = {name: [] for name in SPLITS}
    counts = _split_counts(shapes_per_family, fractions)
    for family in families:
        ids = _shape_ids(shapes_per_family)
        order = torch.randperm(shapes_per_family, generator=_generator(seed, "splits", family))
        start = 0
        for name, count in zip(SPLITS, counts):
            splits[name] += [f"{family}/{ids[i]}" for i in order[start:start + count].tolist()]
            start += count
    return {name: sorted(keys) for name, keys in splits.items()}


def _check_args(families, shapes_per_family, views, image_size, seed, splits) -> dict:
    """The parameters as stored in dataset.json, after checking them."""
    op = "make_dataset"
    if isinstance(families, str):
        families = [f.strip() for f in families.split(",") if f.strip()]
    families = [_check_family(op, f) for f in families]
    if not families:
        raise InputError(f"{op}: families must name at least one of {', '.join(FAMILIES)}")
    if len(set(families)) != len(families):
        raise InputError(f"{op}: families must be distinct, got {families}")
    for name, value, low in (("shapes_per_family", shapes_per_family, 1), ("views", views, 1),
                             ("image_size", image_size, 8), ("seed", seed, 0)):
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise InputError(f"{op}: {name} must be an int >= {low}, got {value!r}")
    fractions = list(splits) if isinstance(splits, Sequence) else None
    if fractions is None or len(fractions) != 3 or not all(
        isinstance(f, (int, float)) and not isinstance(f, bool) and math.isfinite(f) and f >= 0
        for f in fractions
    ) or abs(sum(fractions) - 1.0) > 1e-6:
        raise InputError(f"{op}: splits must be 3 fractions >= 0 (train, val, test) summing to 1,"
                         f" got {splits!r}")
    return {"families": families, "shapes_per_family": shapes_per_family, "views": views,
            "image_size": image_size, "seed": seed, "splits": [float(f) for f in fractions]}


def _shape_files(views: int) -> list[str]:
    """The files of a complete shape folder, relative to it."""
    return [MESH_FILE, f"{VIEWS_FOLDER}/cameras.json"] + [
        f"{VIEWS_FOLDER}/{kind}_{i:03d}.{ext}" for i in range(views)
        for kind, ext in (("view", "png"), ("depth", "npy"))
    ]


def _complete(folder: Path, files: list[str]) -> bool:
    return all((folder / f).is_file() for f in files)


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise FileFormatError(path, f"cannot read the JSON: {exc}") from None


def _write_json(path: Path, doc: Any) -> None:
    with atomic_open(path, "w", encoding="utf-8") as handle:
        handle.write(json.dumps(doc, indent=1) + "\n")


def _read_dataset_doc(path: Path) -> dict:
    doc = _read_json(path)
    if not (isinstance(doc, dict) and doc.get("format") == FORMAT
            and isinstance(doc.get("params"), dict)):
        raise FileFormatError(path, f"not a procedural-shapes dataset (expected \"format\": "
                                    f"\"{FORMAT}\" and \"params\")")
    if doc.get("version") != VERSION:
        raise FileFormatError(path, f"unsupported version {doc.get('version')!r} (this r3d "
                                    f"reads version {VERSION})")
    return doc


def _differences(old: dict, new: dict) -> str:
    keys = [k for k in new if old.get(k) != new[k]] + [k for k in old if k not in new]
    return ", ".join(f"{k}: {json.dumps(old.get(k))} -> {json.dumps(new.get(k))}" for k in keys)


def _write_shape(folder: Path, family: str, shape_id: str, params: dict, device) -> None:
    """Makes, renders and writes one shape into a hidden temporary folder, then renames it to
    ``folder`` (replacing an older one)."""
    seed = params["seed"]
    mesh = make_shape(family, _generator(seed, "shape", family, shape_id))
    images, masks, depths, cameras = render_views(
        mesh, params["views"], params["image_size"],
        _generator(seed, "views", family, shape_id, params["views"]), device)
    tmp = folder.with_name(f".{folder.name}.tmp")
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    try:
        save_obj(tmp / MESH_FILE, mesh.verts_packed(), mesh.faces_packed(),
                 verts_colors=mesh.textures.verts_features_packed())
        save_views(tmp / VIEWS_FOLDER, images, masks, cameras, depths=depths)
        if folder.exists():
            shutil.rmtree(folder)
        os.replace(tmp, folder)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def make_dataset(
    out_dir: str | os.PathLike,
    families: Sequence[str] = FAMILIES,
    shapes_per_family: int = 20,
    views: int = 8,
    image_size: int = 64,
    seed: int = 0,
    splits: Sequence[float] = (0.7, 0.15, 0.15),
    progress: Progress | None = None,
    force: bool = False,
    device: torch.device | str = "cpu",
) -> dict:
    """Generates (or completes) a procedural-shapes dataset in ``out_dir`` (format: see the
    module docstring).

    Args:
        out_dir: the dataset folder (created when missing).
        families: names from :data:`FAMILIES` (or one comma-separated string).
        shapes_per_family: shapes of each family (ids 0000, 0001, ...).
        views: V, views rendered per shape.
        image_size: S, the side of the square images in pixels (>= 8).
        seed: the seed of every random draw.
        splits: fractions of each family's shapes in train, val and test (sum 1).
        progress: called as progress(shapes done, shapes in all) after each shape.
        force: regenerate every shape, also over a dataset made with other parameters (whose
            shape folders are removed) or in a non-empty folder that holds no dataset.
        device: where to render ("cpu" or "cuda").
    Returns:
        A JSON-ready summary: out, families, shapes (in all), generated (made by this call),
        cached (True when the folder already held the whole dataset), views, image_size,
        seed, splits ({"train": count, "val": count, "test": count}), seconds.
    Raises:
        InputError for bad arguments, or when ``out_dir`` holds a dataset with other
        parameters or other files (and ``force`` is False).
    """
    start = time.perf_counter()
    params = _check_args(families, shapes_per_family, views, image_size, seed, splits)
    device = resolve_device(device)
    out = Path(out_dir).expanduser()
    if out.exists() and not out.is_dir():
        raise InputError(f"make_dataset: the output folder {out} is a file")
    doc_path = out / DATASET_FILE
    files = _shape_files(params["views"])
    keys = [(f, i) for f in params["families"] for i in _shape_ids(params["shapes_per_family"])]
    old = None
    if doc_path.is_file():
        try:
            old = _read_dataset_doc(doc_path)["params"]
        except FileFormatError:
            if not force:
                raise
    if old is not None and old != params:
        if not force:
            raise InputError(
                f"{out} holds a dataset made with other parameters ({_differences(old, params)}); "
                "use another folder, or --force (force=True) to replace it")
        _remove_dataset(out, old, keep=set(keys))
        old = None
    elif old is None and out.is_dir() and any(out.iterdir()) and not force:
        raise InputError(f"{out} is not empty and holds no {DATASET_FILE}; use another (or an "
                         "empty) folder, or --force (force=True) to write into it")
    summary = {"out": str(out), "families": params["families"], "shapes": len(keys),
               "views": params["views"], "image_size": params["image_size"], "seed": seed}
    todo = [(f, i) for f, i in keys if force or not _complete(out / f / i, files)]
    split_doc = make_splits(params["families"], params["shapes_per_family"], seed,
                            params["splits"])
    summary["splits"] = {name: len(split_doc[name]) for name in SPLITS}
    if old is not None and not todo and (out / SPLITS_FILE).is_file():
        if progress is not None:
            progress(len(keys), len(keys))
        return {**summary, "generated": 0, "cached": True,
                "seconds": round(time.perf_counter() - start, 3)}
    out.mkdir(parents=True, exist_ok=True)
    if (out / SPLITS_FILE).exists():  # written again last: its presence means complete
        (out / SPLITS_FILE).unlink()
    _write_json(doc_path, {"format": FORMAT, "version": VERSION, "r3d_version": r3d.__version__,
                           "params": params, "render": _render_settings()})
    done = len(keys) - len(todo)
    if progress is not None:
        progress(done, len(keys))
    for family, shape_id in todo:
        (out / family).mkdir(exist_ok=True)
        _write_shape(out / family / shape_id, family, shape_id, params, device)
        done += 1
        if progress is not None:
            progress(done, len(keys))
    _write_json(out / SPLITS_FILE, split_doc)
    return {**summary, "generated": len(todo), "cached": False,
            "seconds": round(time.perf_counter() - start, 3)}


def _remove_dataset(out: Path, old: dict, keep: set) -> None:
    """Removes the shape folders of an older dataset (its params ``old``) that are not kept,
    and its splits.json and dataset.json."""
    for name in (SPLITS_FILE, DATASET_FILE):
        if (out / name).is_file():
            (out / name).unlink()
    families, count = old.get("families"), old.get("shapes_per_family")
    if not (isinstance(families, list) and isinstance(count, int)):
        return
    for family in families:
        if family not in _BUILDERS:  # never a path we did not make
            continue
        for shape_id in _shape_ids(count):
            folder = out / family / shape_id
            if (family, shape_id) not in keep and folder.is_dir():
                shutil.rmtree(folder)
        if (out / family).is_dir() and not any((out / family).iterdir()):
            (out / family).rmdir()


def _render_settings() -> dict:
    return {"azimuth": [0.0, 360.0], "elevation": list(ELEVATION), "distance": list(DISTANCE),
            "fov": list(FOV), "znear": ZNEAR, "zfar": ZFAR, "shader": "hard_phong",
            "light": {"type": "directional", "direction": list(LIGHT_DIRECTION), **LIGHT},
            "shininess": SHININESS, "background": list(BACKGROUND),
            "shape_radius": SHAPE_RADIUS}


# ---- reading --------------------------------------------------------------------------------


class ProceduralShapes(torch.utils.data.Dataset):
    """The shapes of one split of a dataset written by :func:`make_dataset`.

    Args:
        root: the dataset folder (holds dataset.json and splits.json).
        split: "train", "val", "test" or "all" (every shape, in splits.json's order).
        views: None for every view, or K to read the first K views of each shape.

    Attributes:
        families: the dataset's families; an item's label is its family's index in this list.
        keys: the items' "<family>/<shape_id>" keys.

    Each item is a dict: family (str), shape_id (str), label (int), verts (P, 3) float32,
    faces (F, 3) int64, colors (P, 3) float32 in [0, 1], images (K, S, S, 3) float32 in [0, 1],
    masks (K, S, S) float32, depths (K, S, S) float32 (0: background), R (K, 3, 3), T (K, 3)
    and fov (K,) in degrees (FoVPerspectiveCameras, X_view = X_world R + T). Meshes differ in
    size: batch items with :func:`r3d.datasets.collate_batched_meshes` (lists, and a
    Meshes under "mesh") or ``collate_fn=list``.
    """

    def __init__(self, root: str | os.PathLike, split: str = "train", views: int | None = None
                 ) -> None:
        self.root = Path(root).expanduser()
        if split not in (*SPLITS, "all"):
            raise InputError(f"ProceduralShapes: split must be one of {', '.join(SPLITS)} or all,"
                             f" got {split!r}")
        if not (self.root / DATASET_FILE).is_file():
            raise InputError(f"ProceduralShapes: {self.root} holds no {DATASET_FILE}; make one "
                             "with r3d dataset make")
        params = _read_dataset_doc(self.root / DATASET_FILE)["params"]
        splits_path = self.root / SPLITS_FILE
        if not splits_path.is_file():
            raise InputError(f"ProceduralShapes: {self.root} holds no {SPLITS_FILE}: the dataset "
                             "is incomplete; run r3d dataset make again to finish it")
        doc = _read_json(splits_path)
        if not (isinstance(doc, dict) and all(isinstance(doc.get(s), list) for s in SPLITS)):
            raise FileFormatError(splits_path, f"expected lists {', '.join(SPLITS)}")
        self.families: list[str] = list(params["families"])
        self.split = split
        self.keys: list[str] = [k for s in SPLITS for k in doc[s]] if split == "all" \
            else list(doc[split])
        total = int(params["views"])
        if views is not None and (isinstance(views, bool) or not isinstance(views, int)
                                  or not 1 <= views <= total):
            raise InputError(f"ProceduralShapes: views must be None or an int in [1, {total}] "
                             f"(the dataset's views), got {views!r}")
        self.views = views

    def __len__(self) -> int:
        return len(self.keys)

    def __getitem__(self, index: int) -> dict[str, Any]:
        key = self.keys[index]
        family, shape_id = key.split("/")
        folder = self.root / family / shape_id
        verts, faces, aux = load_obj(folder / MESH_FILE)
        if aux.verts_colors is None:
            raise FileFormatError(folder / MESH_FILE, "has no vertex colours")
        views = load_views(folder / VIEWS_FOLDER)
        if self.views is not None:
            views = views.subset(list(range(self.views)))
        cameras = views.cameras
        fov = cameras.fov if cameras.degrees else torch.rad2deg(cameras.fov)
        return {
            "family": family,
            "shape_id": shape_id,
            "label": self.families.index(family),
            "verts": verts,
            "faces": faces.verts_idx,
            "colors": aux.verts_colors,
            "images": views.images,
            "masks": views.masks,
            "depths": views.depths,
            "R": cameras.R,
            "T": cameras.T,
            "fov": fov,
        }
