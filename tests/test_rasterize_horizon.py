"""Soft rasterisation with perspective correction: a pixel that sees a face's plane beyond its
horizon (the perspective denominator <= 0) drops that face instead of clamping the denominator
(PyTorch3D's choice, which gives barycentrics and gradients of arbitrary size)."""

from __future__ import annotations

import torch

from r3d.renderer.mesh.rasterize_meshes import rasterize_meshes, rasterize_meshes_torch
from r3d.structures import Meshes

SIZE = 32
BLUR = 0.05


def _grazing_face() -> torch.Tensor:
    """(3, 3) NDC corners of a face seen at a grazing angle: two near corners, one far."""
    return torch.tensor([[-0.5, -0.5, 0.1], [0.5, -0.5, 0.1], [0.0, 0.5, 10.0]],
                        dtype=torch.float64, requires_grad=True)


def _inverse_depth(face: torch.Tensor) -> torch.Tensor:
    """(H, W) the face plane's 1/z at each pixel centre, interpolated with screen barycentrics
    (the perspective denominator up to the positive factor z0 z1 z2)."""
    centres = 1 - (torch.arange(SIZE, dtype=torch.float64) + 0.5) * 2 / SIZE
    y, x = torch.meshgrid(centres, centres, indexing="ij")  # +X left, +Y up, row 0 on top
    (x0, y0, z0), (x1, y1, z1), (x2, y2, z2) = face.detach().tolist()
    area = (x2 - x0) * (y1 - y0) - (y2 - y0) * (x1 - x0)
    w0 = ((x - x1) * (y2 - y1) - (y - y1) * (x2 - x1)) / area
    w1 = ((x - x2) * (y0 - y2) - (y - y2) * (x0 - x2)) / area
    w2 = 1 - w0 - w1
    return w0 / z0 + w1 / z1 + w2 / z2


def _hits(face: torch.Tensor, perspective_correct: bool, rasterize=rasterize_meshes):
    meshes = Meshes(verts=[face], faces=[torch.tensor([[0, 1, 2]])])
    return rasterize(meshes, image_size=SIZE, blur_radius=BLUR, faces_per_pixel=4,
                     perspective_correct=perspective_correct)


def test_pairs_beyond_the_horizon_are_dropped():
    face = _grazing_face()
    beyond = _inverse_depth(face) <= 0
    blurred = _hits(face, False)[0][0, ..., 0] >= 0
    assert (blurred & beyond).sum() >= 3  # soft rasterisation reaches past the horizon here
    pix_to_face, zbuf, bary, _ = _hits(face, True)
    hit = pix_to_face[0, ..., 0] >= 0
    assert hit.any() and not (hit & beyond).any()
    assert torch.equal(pix_to_face, _hits(face, True, rasterize_meshes_torch)[0])
    assert bool(torch.isfinite(zbuf).all()) and bool(torch.isfinite(bary).all())
    assert float(bary.detach()[pix_to_face >= 0].abs().max()) < 10


def test_gradients_stay_finite_and_small():
    face = _grazing_face()
    _, zbuf, bary, dists = _hits(face, True)
    hit = zbuf >= 0
    (zbuf[hit].sum() + bary[hit].sum() + dists[hit].sum()).backward()
    assert bool(torch.isfinite(face.grad).all()) and float(face.grad.abs().max()) < 1e4
