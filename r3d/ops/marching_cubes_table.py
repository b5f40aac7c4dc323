"""The marching cubes case table, generated rather than transcribed.

Facts used (Lorensen & Cline, "Marching Cubes", SIGGRAPH 1987; the 256-entry form popularised by
P. Bourke, "Polygonising a scalar field", 1994): a cell's 8 corners are each inside (value below
the isolevel) or outside, giving 256 cases; the surface crosses exactly the cell edges whose two
corners differ; a case's triangles connect points on those edges. Instead of copying a published
table, every case is derived here from the contour the surface leaves on the six faces of the cell:

- On each face, walking its corners counter-clockwise as seen from outside the cell, every
  maximal run of inside corners yields one segment, from the crossed edge after the run to the
  crossed edge before it (so the inside lies on the segment's left). An ambiguous face (inside
  corners on one diagonal only) therefore separates its two inside corners; since this rule
  depends on the face alone, the two cells sharing a face agree and the surface has no cracks.
- The segments of the six faces chain into closed loops (each crossed edge ends one segment and
  starts another); each loop is fanned into triangles from the first of its points whose
  diagonals all cross the cell's interior (join edges with no cell face in common). A diagonal
  along an ambiguous face could be chosen by the neighbouring cell too and be shared by four
  triangles.

Triangles are wound so that their normal (right-hand rule) points from the inside (low values) to
the outside (high values): outwards for a signed distance field that is negative inside.

Corner ``c`` of a cell sits at offset ``(c & 1, (c >> 1) & 1, (c >> 2) & 1)`` along (x, y, z),
i.e. along the volume's (W, H, D) axes. A triangle corner lies on the cell edge that runs from
corner ``c`` one step along axis ``a`` (0: x, 1: y, 2: z), stored as the code ``3 * c + a``.
"""

from __future__ import annotations

import torch


def _edge(c0: int, c1: int) -> int:
    """The code 3 * c + a of the edge between two neighbouring corners."""
    c = min(c0, c1)
    return 3 * c + (c0 ^ c1).bit_length() - 1


def _cell_faces_of(code: int) -> set[tuple[int, int]]:
    """The two cell faces (axis, side) that contain the edge with this code."""
    c, a = divmod(code, 3)
    return {(b, (c >> b) & 1) for b in range(3) if b != a}


def _fan(loop: list[int]) -> list[tuple[int, int, int]]:
    """Triangles fanning a loop from its first point whose diagonals cross the interior."""
    n = len(loop)
    for apex in range(n):
        ring = loop[apex:] + loop[:apex]
        if all(not _cell_faces_of(ring[0]) & _cell_faces_of(ring[k]) for k in range(2, n - 1)):
            return [(ring[0], ring[k], ring[k + 1]) for k in range(1, n - 1)]
    raise AssertionError(f"no interior fan for the loop {loop}")  # not reached: checked at import


def _faces() -> list[list[int]]:
    """The 6 cell faces, each as its 4 corners counter-clockwise seen from outside the cell."""
    faces = []
    for axis in range(3):
        u, v = 1 << ((axis + 1) % 3), 1 << ((axis + 2) % 3)  # e_u x e_v = e_axis
        for side in (0, 1):
            base = side << axis
            ring = [base, base | u, base | u | v, base | v]
            faces.append(ring if side else ring[::-1])
    return faces


def _case_triangles(case: int, faces: list[list[int]]) -> list[tuple[int, int, int]]:
    """Triangles (edge codes) of one case; bit c of ``case`` set: corner c inside."""
    inside = [(case >> c) & 1 for c in range(8)]
    nxt: dict[int, int] = {}
    for ring in faces:
        flags = [inside[c] for c in ring]
        if all(flags) or not any(flags):
            continue
        for i in range(4):
            if flags[i] and not flags[i - 1]:  # a run of inside corners starts at ring[i]
                j = i
                while flags[(j + 1) % 4]:
                    j = (j + 1) % 4
                after = _edge(ring[j], ring[(j + 1) % 4])
                before = _edge(ring[i - 1], ring[i])
                nxt[after] = before
    triangles = []
    while nxt:
        start = min(nxt)
        loop = [start]
        while nxt[loop[-1]] != start:
            loop.append(nxt.pop(loop[-1]))
        nxt.pop(loop[-1])
        # The loop has the inside on its left seen from outside the cell, so it turns
        # counter-clockwise around the inside corners: reverse it so normals point outwards.
        loop.reverse()
        triangles += _fan(loop)
    return triangles


def _build() -> torch.Tensor:
    faces = _faces()
    cases = [_case_triangles(case, faces) for case in range(256)]
    width = max(len(t) for t in cases)
    table = torch.full((256, width, 3), -1, dtype=torch.int64)
    for case, tris in enumerate(cases):
        if tris:
            table[case, : len(tris)] = torch.tensor(tris)
    return table


TRIANGLES = _build()
"""(256, T, 3) int64: the triangles of each case as edge codes ``3 * corner + axis``, rows of -1
after the last one (T is the largest number of triangles of a case)."""
NUM_TRIANGLES = (TRIANGLES[:, :, 0] >= 0).sum(1)
"""(256,) int64 number of triangles of each case."""
