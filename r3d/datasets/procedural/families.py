"""The shape families (:data:`FAMILIES`: chair, table, lamp, mug, airplane): seeded sampling of
each family's proportions and colours, and the assembly of its parts into one mesh.

:func:`make_shape` assembles one object of a family from closed primitives
(:mod:`r3d.datasets.procedural.primitives`) whose proportions and colours are drawn from a
``torch.Generator``. Each part is a closed surface with outward (counter-clockwise seen from
outside) faces; parts may overlap. The result is one mesh (the parts joined) with a colour per
vertex (:class:`~r3d.renderer.TexturesVertex`, one colour per part), centred (bounding-box centre
at the origin) and scaled so that its farthest vertex is :data:`SHAPE_RADIUS` from the origin,
with +y up and its front towards +z (a chair's seat faces +z, an airplane's nose points to +z).
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Callable, Sequence

import torch

from r3d.datasets.procedural.primitives import (
    box,
    cylinder,
    rotated,
    superquadric,
    torus_surface,
)
from r3d.errors import InputError
from r3d.renderer import TexturesVertex
from r3d.structures import Meshes, join_meshes_as_scene

FAMILIES = ("chair", "table", "lamp", "mug", "airplane")
# farthest vertex from the origin: below sin(fov / 2) * distance for the nearest, narrowest view
SHAPE_RADIUS = 0.95

Part = tuple[torch.Tensor, torch.Tensor, torch.Tensor]  # verts (V, 3), faces (F, 3), rgb (3,)


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
    back_v = rotated(back_v, (-tilt, 0.0, 0.0), (0.0, h + t, -d / 2 + bt / 2))
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
    handle = torus_surface(tube, hr, ((r + rt) / 2 + hr * _uniform(g, 0.2, 0.45), h / 2, 0.0))
    return [(*body, body_c), (*handle, handle_c)]


def _airplane(g: torch.Generator) -> list[Part]:
    """Fuselage (a superquadric along z, nose at +z), swept wings, tailplane, fin, maybe two
    engines."""
    length, rf = _uniform(g, 2.0, 3.0), _uniform(g, 0.12, 0.2)
    body_c, wing_c = _colour(g, LIVERY), _colour(g, LIVERY)
    # the superquadric's poles are on y; rotating +90 degrees about x takes +y to +z
    fuselage = superquadric((rf, length / 2, rf * _uniform(g, 0.9, 1.15)),
                            _uniform(g, 0.4, 1.0), 1.0, 20, 24)
    parts: list[Part] = [(rotated(fuselage[0], (math.pi / 2, 0.0, 0.0)), fuselage[1], body_c)]
    span, chord = length * _uniform(g, 0.85, 1.25), _uniform(g, 0.3, 0.55)
    wt, wy, wz = _uniform(g, 0.03, 0.06), rf * _uniform(g, -0.6, 0.3), _uniform(g, -0.15, 0.25)
    sweep = math.radians(_uniform(g, 0.0, 25.0))
    for sx in (-1.0, 1.0):  # each wing from the axis outwards, swept back about its root
        v, f = box((span / 2, wt, chord), (sx * span / 4, wy, wz))
        parts.append((rotated(v, (0.0, sx * sweep, 0.0), (0.0, wy, wz)), f, wing_c))
    tail_z = -length / 2 + _uniform(g, 0.15, 0.3)
    ts, tc = span * _uniform(g, 0.25, 0.4), _uniform(g, 0.18, 0.3)
    parts.append((*box((ts, wt * 0.8, tc), (0.0, rf * 0.3, tail_z)), wing_c))
    fh, fc = _uniform(g, 0.3, 0.5), _uniform(g, 0.25, 0.4)
    fin_v, fin_f = box((wt * 0.8, fh, fc), (0.0, fh / 2, tail_z))
    fin_v = rotated(fin_v, (-math.radians(_uniform(g, 0.0, 30.0)), 0.0, 0.0), (0.0, 0.0, tail_z))
    parts.append((fin_v, fin_f, body_c))
    if _chance(g, 0.5):
        er, el = _uniform(g, 0.05, 0.09), _uniform(g, 0.3, 0.5)
        ex = span * _uniform(g, 0.15, 0.3)
        for sx in (-1.0, 1.0):
            v, f = cylinder(er, er * 0.85, el, 16)
            v = rotated(v, (math.pi / 2, 0.0, 0.0))  # along z
            back = ex * math.tan(sweep)  # follow the swept wing
            parts.append((v + torch.tensor([sx * ex, wy - wt / 2 - er, wz + 0.1 - back],
                                           dtype=torch.float64), f, _colour(g, METAL)))
    return parts


BUILDERS: dict[str, Callable[[torch.Generator], list[Part]]] = {
    "chair": _chair, "table": _table, "lamp": _lamp, "mug": _mug, "airplane": _airplane,
}


def check_family(op: str, family: object) -> str:
    """``family`` when it names a shape family; InputError with the nearest name otherwise."""
    if not (isinstance(family, str) and family in BUILDERS):
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
    family = check_family("make_shape", family)
    if generator is None:
        generator = torch.default_generator
    if not isinstance(generator, torch.Generator) or generator.device.type != "cpu":
        raise InputError(f"make_shape: generator must be a CPU torch.Generator, got "
                         f"{generator!r}")
    parts = BUILDERS[family](generator)
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
