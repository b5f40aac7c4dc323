"""One call's arguments for every op registered in torch.ops.r3d (float64, heterogeneous
batches, an empty item included), for opcheck on the CPU (tests/test_torch_library.py) and on
CUDA (tests/test_cuda_pipeline.py)."""

from __future__ import annotations

import torch

import r3d.loss  # noqa: F401  (registers the Chamfer ops)
from r3d.ops import knn_points
from r3d.ops.marching_cubes_table import TRIANGLES

D = torch.float64


def _rand(*shape, grad=True, seed=0):
    g = torch.Generator().manual_seed(seed + sum(shape))
    return torch.rand(*shape, generator=g, dtype=D).requires_grad_(grad)


def _lengths(*values):
    return torch.tensor(values, dtype=torch.int64)


def _face_verts():
    fv = _rand(6, 3, 3, grad=False) * 1.6 - 0.8
    fv[..., 2] = fv[..., 2].abs() + 1.0
    return fv.requires_grad_()


def _csr():
    """ptr, col of the undirected graph of a 4-cycle (each vertex gathers its two neighbours)."""
    return _lengths(0, 2, 4, 6, 8), _lengths(1, 3, 0, 2, 1, 3, 0, 2)


# ops without an autograd formula (backward passes are once differentiable; the rest have no
# float output to differentiate or are used in backward passes only)
NOT_DIFFERENTIABLE = {
    "csr_gather_sum", "face_pairs", "group_by_key", "marching_cubes", "sample_farthest_points",
    "voxelize_meshes",
}

# ops with a CPU kernel only (their callers run other ops on CUDA)
CPU_ONLY = {"chamfer_distance", "chamfer_distance_backward", "group_by_key"}

# opcheck's AOT test sums the outputs into the type of the first, which fails when it is int64
# (pix_to_face, idx); test_compile_matches_eager covers their AOT tracing instead
INT_FIRST = {"rasterize_meshes", "rasterize_points"}


def op_samples(device: str | torch.device = "cpu") -> dict[str, tuple]:
    """One call's arguments per registered op (float64, heterogeneous, an empty item included),
    on ``device`` (strides and requires_grad kept)."""
    return {name: tuple(_to(a, torch.device(device)) for a in args)
            for name, args in _cpu_samples().items()}


def _to(a, device: torch.device):
    if not isinstance(a, torch.Tensor):
        return a
    return a.detach().to(device).requires_grad_(a.requires_grad)


def _cpu_samples() -> dict[str, tuple]:
    l1, l2 = _lengths(5, 0), _lengths(4, 6)
    p1, p2 = _rand(2, 5, 3), _rand(2, 6, 3)
    idx = knn_points(p1.detach(), p2.detach(), l1, l2, K=2).idx
    verts = _rand(5, 3)
    faces = _lengths(0, 1, 2, 1, 2, 3, 2, 3, 4).view(3, 3)
    edges = _lengths(0, 1, 1, 2, 2, 0, 1, 3, 3, 2).view(5, 2)
    pix = torch.tensor([[0, -1], [2, 1], [-1, -1]], dtype=torch.int64).view(-1)
    fv, first, num = _face_verts(), _lengths(0, 4), _lengths(4, 2)
    fragments = torch.ops.r3d.rasterize_meshes(fv.detach(), first, num, [6, 5], 2, 0.01, False,
                                               False, False, 0)
    pts = _rand(7, 3, grad=False)
    pts[:, 2] += 0.5
    pts.requires_grad_()
    pidx = torch.ops.r3d.rasterize_points(pts.detach(), torch.full((7,), 0.3, dtype=D),
                                          _lengths(0, 4), _lengths(4, 3), [5, 4], 3, 0)[0]
    image_idx = pidx.permute(0, 3, 1, 2)  # (N, K, H, W) views, as PointsRenderer passes them
    alphas = _rand(*pidx.shape).permute(0, 3, 1, 2)
    ptr, col = _csr()
    quads = _lengths(1, 2, 0, 3).view(1, 4)
    ptr_e, order_e = torch.ops.r3d.group_by_key(_lengths(0, 1, 1, 2, 0, 2), 5)
    vol = _rand(2, 4, 5, 3, grad=False)
    splat_points = (_rand(2, 6, 3, grad=False) * 2.2 - 1.1).requires_grad_()
    splat_mask = torch.tensor([[True] * 6, [True, True, False, False, False, False]])
    splat_sizes = _lengths(3, 4, 2, 2, 4, 2).view(2, 3)
    # three triangles snapped to 1/256 of a voxel in grids of 3 x 4 x 5 voxels (the second empty)
    tri_xy = (_rand(3, 3, 2, grad=False, seed=1) * 5 * 256).round().to(torch.int64)
    grid = _rand(2, 4, 3, 4, 5).permute(0, 4, 1, 2, 3)  # channels last: (N, K, D, H, W) view
    rays = (_rand(2, 3, 3, grad=False) - 0.5, _rand(2, 3, 3, grad=False) - 0.5,
            _rand(2, 3, 6, grad=False) * 2, _rand(2, 3, grad=False) + 0.5,
            _rand(2, 3, grad=False, seed=1) * 0.1)
    x_idx, y_idx = torch.ops.r3d.chamfer_distance(p1.detach(), p2.detach(), l1, l2, 2, 2)[1:]
    return {
        "knn_points": (p1, p2, l1, l2, 2, 2),
        "knn_points_backward": (p1, p2, l1, l2, idx, _rand(2, 5, 2), 2),
        "ball_query": (p1, p2, l1, l2, 3, 0.6),
        "chamfer_distance": (p1, p2, l1, l2, 1, 2),
        "chamfer_distance_backward": (p1, p2, l1, l2, x_idx, y_idx, _rand(2, 2), 2),
        "mesh_face_areas_normals": (verts, faces),
        "mesh_face_areas_normals_backward": (verts, faces, _rand(3), _rand(3, 3)),
        "packed_to_padded": (_rand(5, 2), _lengths(0, 3, 3), 3),
        "padded_to_packed": (_rand(3, 3, 2), _lengths(0, 3, 3), 5),
        "interpolate_face_attributes": (pix, _rand(6, 3), _rand(3, 3, 2)),
        "interpolate_face_attributes_backward": (pix, _rand(6, 3), _rand(3, 3, 2), _rand(6, 2),
                                                 True, True),
        "group_by_key": (_lengths(2, 0, 2, 1, 0), 4),
        "csr_gather_sum": (_rand(4, 2), ptr, col),
        "gather_scatter": (_rand(4, 2), ptr, col, ptr, col),
        "emission_absorption_grid": (grid, *rays, True, 2, 1e-10, True),
        "emission_absorption_grid_backward": (grid, *rays, _rand(2, 3, 6, grad=False),
                                              _rand(2, 3, 4), _rand(2, 3, 1), False, 1, 1e-10),
        "marching_cubes": (vol, torch.tensor([0.5, 0.3], dtype=D), TRIANGLES),
        "point_mesh_distance": (_rand(5, 3), fv, _lengths(0, 3), _lengths(0, 4), 1e-6, True),
        "point_mesh_distance_backward": (_rand(5, 3), fv, _lengths(0, 1, 5, 4, -1), _rand(5),
                                         1e-6, True),
        "sample_farthest_points": (_rand(2, 6, 3, grad=False), _lengths(6, 0), _lengths(3, 2),
                                   _lengths(0, 0), 3),
        "rasterize_meshes": (fv, first, num, [6, 5], 2, 0.01, True, False, False, 0),
        "rasterize_meshes_backward": (fv, fragments[0], _rand(2, 6, 5, 2), _rand(2, 6, 5, 2, 3),
                                      _rand(2, 6, 5, 2), [6, 5], 2, 0.01, True, False, False),
        "composite": ("alpha_composite", image_idx, alphas, _rand(2, 7)),
        "composite_backward": ("norm_weighted_sum", image_idx, alphas, _rand(7, 2).t(),
                               _rand(2, 5, 4, 2).permute(0, 3, 1, 2), True, True),
        "rasterize_points": (pts, torch.full((7,), 0.3, dtype=D), _lengths(0, 4), _lengths(4, 3),
                             [5, 4], 3, 0),
        "rasterize_points_backward": (pts, pidx, _rand(2, 5, 4, 3), _rand(2, 5, 4, 3), [5, 4], 3),
        "mesh_edge_loss": (verts, edges, 0.1),
        "mesh_edge_loss_backward": (verts, edges, _rand(5), 0.1),
        "face_pairs": (edges, ptr_e, order_e, _lengths(0, 1, 2, 3, 4, 0)),
        "mesh_normal_consistency": (verts, quads),
        "mesh_normal_consistency_backward": (verts, quads, _rand(1)),
        "points_to_volumes": (splat_points, _rand(2, 6, 2), _rand(2, 1, 3, 4, 2),
                              _rand(2, 2, 3, 4, 2), splat_sizes, splat_mask, True, True),
        "points_to_volumes_backward": (splat_points, _rand(2, 6, 2), splat_sizes, splat_mask,
                                       _rand(2, 1, 3, 4, 2), _rand(2, 2, 3, 4, 2), False, True,
                                       True, True),
        "voxelize_meshes": (tri_xy, _rand(3, 3, grad=False) * 3, _lengths(0, 0, 2), [3, 3, 4, 5]),
    }


