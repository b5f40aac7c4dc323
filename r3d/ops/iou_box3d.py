"""Exact intersection volume and IoU of oriented 3D boxes (PyTorch3D's ``box3d_overlap``).

A box is given by its 8 corners in PyTorch3D's order; for the unit cube::

    [0, 0, 0], [1, 0, 0], [1, 1, 0], [0, 1, 0], [0, 0, 1], [1, 0, 1], [1, 1, 1], [0, 1, 1]

so corners 0-3 and 4-7 are the two opposite faces, each in cyclic order, and corner i + 4 lies
across from corner i. Any convex hexahedron with planar faces (not only a cuboid) is accepted.

The intersection of two boxes is a convex polyhedron whose boundary is made of the faces of
each box clipped to the other box (Sutherland-Hodgman against its six half-spaces). Its volume
follows from the divergence theorem, ``V = 1/3 sum_f (p_f - c) . a_f`` over the clipped faces,
with a_f the outward vector area of face f, p_f a point of it and c any reference point. A face
shared by both boxes (coplanar, same outward side) is counted once. Everything is pure PyTorch
and differentiable almost everywhere (where no corner lies on the other box's boundary).
"""

from __future__ import annotations

import torch

from r3d._checks import describe
from r3d.errors import InputError

__all__ = ["box3d_overlap"]

# Quad faces of a box as corner indices in cyclic order, and their triangle fans.
_FACES = ((0, 1, 2, 3), (3, 2, 6, 7), (0, 1, 5, 4), (0, 3, 7, 4), (1, 2, 6, 5), (4, 5, 6, 7))
_TRIANGLES = tuple((f[0], f[i], f[i + 1]) for f in _FACES for i in (1, 2))
# A convex quad clipped by 6 planes has at most 4 + 6 vertices; the margin absorbs the extra
# crossings that rounding can create where vertices lie within tolerance of a plane.
_MAX_VERTICES = 16
# Box pairs clipped at once (bounds memory: each pair holds 12 polygons of _MAX_VERTICES).
_PAIRS_PER_CHUNK = 4096


def _check_boxes(name: str, boxes: object, eps: float) -> None:
    """InputError unless boxes is an (B, 8, 3) float tensor of boxes with planar faces of
    non-zero area (the checks and messages of PyTorch3D)."""
    op = "box3d_overlap"
    if not isinstance(boxes, torch.Tensor) or not boxes.is_floating_point() \
            or boxes.dim() != 3 or tuple(boxes.shape[1:]) != (8, 3):
        raise InputError(f"{op}: Each box in the batch must be of shape (8, 3): {name} must be "
                         f"a float tensor of shape (B, 8, 3), got {describe(boxes)}")
    if not bool(torch.isfinite(boxes).all()):
        raise InputError(f"{op}: {name} contains NaN or infinite values")
    quads = boxes[:, torch.tensor(_FACES, device=boxes.device)]  # (B, 6, 4, 3)
    v0, v1, v2, v3 = quads.unbind(2)
    e0 = torch.nn.functional.normalize(v1 - v0, dim=-1)
    e1 = torch.nn.functional.normalize(v2 - v0, dim=-1)
    normal = torch.nn.functional.normalize(torch.cross(e0, e1, dim=-1), dim=-1)
    if not bool((((v3 - v0) * normal).sum(-1).abs() < eps).all()):
        raise InputError(f"{op}: Plane vertices are not coplanar: a face of {name} is not flat "
                         f"to within eps={eps}")
    tris = boxes[:, torch.tensor(_TRIANGLES, device=boxes.device)]  # (B, 12, 3, 3)
    areas = torch.linalg.norm(
        torch.cross(tris[:, :, 1] - tris[:, :, 0], tris[:, :, 2] - tris[:, :, 0], dim=-1), dim=-1
    ) / 2
    if bool((areas < eps).any()):
        raise InputError(f"{op}: Planes have zero areas: a face of {name} has a triangle of "
                         f"area below eps={eps}")


def _oriented_faces(boxes: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The faces of boxes (B, 8, 3), counter-clockwise seen from outside.

    Returns:
        quads: (B, 6, 4, 3) corners of each face.
        planes: (B, 6, 4) outward unit normal n and offset d of each face (n . x = d on it).
        flatness: (B,) the largest distance of a face's corner from its plane.
    """
    quads = boxes[:, torch.tensor(_FACES, device=boxes.device)]
    area = _vector_area(quads, torch.ones(4, dtype=torch.bool, device=quads.device))
    outward = ((quads.mean(2) - boxes.mean(1, keepdim=True)) * area).sum(-1) > 0
    quads = torch.where(outward[..., None, None], quads, quads[:, :, [0, 3, 2, 1]])
    normal = torch.nn.functional.normalize(torch.where(outward[..., None], area, -area), dim=-1)
    offset = (normal * quads.mean(2)).sum(-1, keepdim=True)
    flatness = ((quads * normal[:, :, None]).sum(-1) - offset).abs().amax((1, 2))
    return quads, torch.cat([normal, offset], dim=-1), flatness


def _next_slot(valid: torch.Tensor) -> torch.Tensor:
    """(Q, C) index of the next vertex of each polygon (its valid slots come first)."""
    count = valid.sum(1, keepdim=True)
    slots = torch.arange(valid.shape[1], device=valid.device).expand_as(valid)
    return torch.where(slots + 1 < count, slots + 1, 0)


def _vector_area(poly: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    """Vector areas (..., 3) of polygons (..., C, 3) whose valid slots (a mask broadcastable
    to (..., C)) come first."""
    shape = poly.shape
    poly, valid = poly.reshape(-1, shape[-2], 3), valid.expand(shape[:-1]).reshape(-1, shape[-2])
    nxt = torch.gather(poly, 1, _next_slot(valid)[..., None].expand_as(poly))
    base = poly[:, :1]
    cross = torch.cross(poly - base, nxt - base, dim=-1) * valid[..., None]
    return (cross.sum(1) / 2).reshape(*shape[:-2], 3)


def _clip(
    poly: torch.Tensor, valid: torch.Tensor, planes: torch.Tensor, tol: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Convex polygons clipped to the intersection of half-spaces n . x <= d.

    Args:
        poly: (Q, C, 3) vertices, valid (Q, C) with the valid slots first.
        planes: (Q, 6, 4) normals and offsets.
        tol: (Q,) a vertex within tol outside a plane counts as on it.
    Returns:
        the clipped polygons and their valid slots, (Q, C', 3) and (Q, C'), valid slots first.
    """
    for k in range(planes.shape[1]):
        n, d = planes[:, None, k, :3], planes[:, None, k, 3]
        dist = (poly * n).sum(-1) - d  # (Q, C)
        nxt_slot = _next_slot(valid)
        nxt = torch.gather(poly, 1, nxt_slot[..., None].expand_as(poly))
        dist_nxt = torch.gather(dist, 1, nxt_slot)
        inside, inside_nxt = dist <= tol[:, None], dist_nxt <= tol[:, None]
        crosses = valid & (inside != inside_nxt)
        # where an edge crosses, one end is within tol and the other beyond it: no 0 / 0; the
        # cut is where the edge meets the plane, or the end within tol when both are above it
        t = torch.where(crosses, dist / torch.where(crosses, dist - dist_nxt, 1.0), 0.0)
        t = t.clamp(0.0, 1.0)
        cut = poly + t[..., None] * (nxt - poly)
        out = torch.stack([poly, cut], 2).flatten(1, 2)
        out_valid = torch.stack([valid & inside, crosses], 2).flatten(1, 2)
        order = torch.sort((~out_valid).to(torch.uint8), dim=1, stable=True).indices
        order = order[:, :_MAX_VERTICES]
        poly = torch.gather(out, 1, order[..., None].expand(-1, -1, 3))
        valid = torch.gather(out_valid, 1, order)
    return poly, valid


def _signed_volume(poly: torch.Tensor, valid: torch.Tensor, ref: torch.Tensor) -> torch.Tensor:
    """1/3 sum over faces of (p_f - ref) . a_f: polygons (..., F, C, 3) with valid (..., F, C),
    ref (..., 3); the volume they enclose when closed and outward-oriented."""
    area = _vector_area(poly, valid)
    return ((poly[..., 0, :] - ref[..., None, :]) * area).sum(-1).sum(-1) / 3


def _pair_volumes(
    quads1: torch.Tensor, planes1: torch.Tensor, quads2: torch.Tensor, planes2: torch.Tensor,
    tol: torch.Tensor,
) -> torch.Tensor:
    """Intersection volumes (P,) of P box pairs given by their oriented faces (P, 6, 4, 3) and
    planes (P, 6, 4); tol (P,) the distance under which points count as on a plane.

    Clipping a face by a plane it (nearly) lies in is ill-conditioned, so faces of the two
    boxes that lie in one plane (every corner of each within tol of the other's plane) are
    handled apart: on the same side, box 1's face is not clipped by that plane and box 2's face
    is left out (it would count the same polygon twice); on opposite sides, the boxes only touch
    and the volume is 0.
    """
    P = quads1.shape[0]
    # (P, 6, 6): face i of box 1 against face k of box 2
    on_k = ((torch.einsum("pivx,pkx->pikv", quads1, planes2[..., :3]) - planes2[:, None, :, 3:])
            .abs() <= tol[:, None, None, None]).all(-1)
    on_i = ((torch.einsum("pkvx,pix->pikv", quads2, planes1[..., :3]) - planes1[:, :, None, 3:])
            .abs() <= tol[:, None, None, None]).all(-1)
    same_side = torch.einsum("pix,pkx->pik", planes1[..., :3], planes2[..., :3]) > 0
    coplanar = on_k & on_i
    touching = (coplanar & ~same_side).any((1, 2))
    shared = coplanar & same_side
    never_clips = planes1.new_tensor([0.0, 0.0, 0.0, 1.0])  # 0 . x <= 1 everywhere
    planes_for1 = torch.where(shared[..., None], never_clips, planes2[:, None].expand(P, 6, 6, 4))
    planes_for2 = planes1[:, None].expand(P, 6, 6, 4)
    polys = torch.cat([quads1, quads2], 1).reshape(P * 12, 4, 3)
    planes = torch.cat([planes_for1, planes_for2], 1).reshape(P * 12, 6, 4)
    valid = torch.ones(P * 12, 4, dtype=torch.bool, device=polys.device)
    poly, valid = _clip(polys, valid, planes, tol.repeat_interleave(12))
    keep = torch.cat([torch.ones_like(shared[:, :, 0]), ~shared.any(1)], 1).reshape(P * 12, 1)
    poly, valid = poly.reshape(P, 12, -1, 3), (valid & keep).reshape(P, 12, -1)
    volume = _signed_volume(poly, valid, quads1.mean((1, 2))).clamp(min=0)
    return torch.where(touching, 0.0, volume)


def box3d_overlap(
    boxes1: torch.Tensor, boxes2: torch.Tensor, eps: float = 1e-4
) -> tuple[torch.Tensor, torch.Tensor]:
    """Intersection volumes and IoUs of every pair of boxes of two batches.

    Args:
        boxes1: (N, 8, 3) corners of N boxes, in the order of the module docstring.
        boxes2: (M, 8, 3) corners of M boxes (same dtype and device).
        eps: tolerance of the input checks: every face must be flat (its fourth corner within
            eps of the plane of the first three) and each of its two triangles must have an
            area of at least eps, else InputError.
    Returns:
        vol: (N, M) volumes of the intersections.
        iou: (N, M) ``vol / (vol1 + vol2 - vol)``, vol1 and vol2 the boxes' volumes.
        Both are differentiable w.r.t. the corners (PyTorch3D's are not).
    """
    _check_boxes("boxes1", boxes1, eps)
    _check_boxes("boxes2", boxes2, eps)
    if boxes1.dtype != boxes2.dtype or boxes1.device != boxes2.device:
        raise InputError(f"box3d_overlap: boxes1 and boxes2 must share dtype and device, got "
                         f"{describe(boxes1)} and {describe(boxes2)}")
    N, M = boxes1.shape[0], boxes2.shape[0]
    quads1, planes1, flat1 = _oriented_faces(boxes1)
    quads2, planes2, flat2 = _oriented_faces(boxes2)
    all_valid = torch.ones(4, dtype=torch.bool, device=boxes1.device)
    vol1 = _signed_volume(quads1, all_valid, boxes1.mean(1))
    vol2 = _signed_volume(quads2, all_valid, boxes2.mean(1))
    size1 = (boxes1.amax(1) - boxes1.amin(1)).amax(1)
    size2 = (boxes2.amax(1) - boxes2.amin(1)).amax(1)
    i, j = torch.meshgrid(torch.arange(N, device=boxes1.device),
                          torch.arange(M, device=boxes1.device), indexing="ij")
    i, j = i.reshape(-1), j.reshape(-1)
    # a point closer to a plane than rounding (about eps * size, and not below what float32
    # inputs hold) or than the corners of either box are to their own faces' planes is on it
    resolution = max(100 * torch.finfo(boxes1.dtype).eps, 1e-6)
    tol = (resolution * torch.maximum(size1[:, None], size2[None, :]) + 2 * flat1[:, None]
           + 2 * flat2[None, :]).detach().reshape(-1)
    vols = [
        _pair_volumes(quads1[a], planes1[a], quads2[b], planes2[b], tol[a * M + b])
        for a, b in zip(i.split(_PAIRS_PER_CHUNK), j.split(_PAIRS_PER_CHUNK))
    ]
    vol = torch.cat(vols).reshape(N, M) if vols else boxes1.new_zeros(N, M)
    iou = vol / (vol1[:, None] + vol2[None, :] - vol)
    return vol, iou
