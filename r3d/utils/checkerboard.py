"""A checkerboard floor mesh (PyTorch3D's ``pytorch3d.utils.checkerboard``)."""

from __future__ import annotations

from collections.abc import Sequence

import torch

from r3d.errors import InputError
from r3d.structures.meshes import Meshes
from r3d.structures.textures import TexturesAtlas

__all__ = ["checkerboard"]


def checkerboard(
    radius: int = 4,
    color1: Sequence[float] = (0.0, 0.0, 0.0),
    color2: Sequence[float] = (1.0, 1.0, 1.0),
    device: torch.device | str | None = None,
) -> Meshes:
    """Unit squares in the z = 0 plane covering [-radius, radius]^2, coloured alternately.

    Vertex ``i * (2 radius + 1) + j`` is at (j - radius, i - radius, 0). Square (i, j) (row i
    along y, column j along x, row-major) is faces 2 s and 2 s + 1, s = i * 2 radius + j, both
    counter-clockwise seen from +z; it has color2 where i + j is odd, color1 elsewhere, so the
    square at the -x, -y corner has color1.

    Args:
        radius: squares on each side of the origin along x and y (>= 1).
        color1, color2: the two colours, of the same number of channels C.
        device: where to put the mesh (CPU when None).
    Returns:
        Meshes of one mesh: (2 radius + 1)^2 vertices, 8 radius^2 faces, and a TexturesAtlas of
        resolution 1 (each face one colour): atlas (1, 8 radius^2, 1, 1, C).
    """
    if isinstance(radius, bool) or not isinstance(radius, int) or radius < 1:
        raise InputError(f"checkerboard: radius must be an int >= 1, got {radius!r}")
    device = torch.device("cpu") if device is None else torch.device(device)
    message = (
        "checkerboard: color1 and color2 must be sequences of numbers of the same length, got "
        f"{color1!r} and {color2!r}"
    )
    try:
        colors = torch.tensor([list(color1), list(color2)], dtype=torch.float32, device=device)
    except (TypeError, ValueError) as err:
        raise InputError(message) from err
    if colors.dim() != 2 or colors.shape[1] == 0:
        raise InputError(message)
    side = 2 * radius + 1
    coords = torch.arange(-radius, radius + 1, dtype=torch.float32, device=device)
    y, x = torch.meshgrid(coords, coords, indexing="ij")
    verts = torch.stack([x, y, torch.zeros_like(x)], dim=-1).reshape(-1, 3)
    i, j = torch.meshgrid(
        torch.arange(2 * radius, device=device), torch.arange(2 * radius, device=device),
        indexing="ij",
    )
    a = (i * side + j).reshape(-1)  # lower-left corner of each square
    b, c, d = a + 1, a + side + 1, a + side  # lower-right, upper-right, upper-left
    faces = torch.stack([torch.stack([a, b, c], -1), torch.stack([a, c, d], -1)], 1)
    odd = ((i + j) % 2).reshape(-1).repeat_interleave(2)
    atlas = colors[odd][:, None, None, :]
    return Meshes(verts=[verts], faces=[faces.reshape(-1, 3)], textures=TexturesAtlas([atlas]))
