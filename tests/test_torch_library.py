"""r3d's native ops as torch.library operators: opcheck of every op (schema, fake tensors,
autograd registration, AOT dispatch), the no-silent-fallback warnings and half precision."""

from __future__ import annotations

import logging

import pytest
import torch

import r3d.loss  # noqa: F401  (registers the ops)
import r3d.ops  # noqa: F401
import r3d.renderer  # noqa: F401
from r3d._native import core
from r3d._native.library import OPS
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


def _samples() -> dict[str, tuple]:
    """One call's arguments per registered op (float64, heterogeneous, an empty item included)."""
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
    return {
        "knn_points": (p1, p2, l1, l2, 2, 2),
        "knn_points_backward": (p1, p2, l1, l2, idx, _rand(2, 5, 2), 2),
        "ball_query": (p1, p2, l1, l2, 3, 0.6),
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
    }


def test_every_native_op_has_a_sample():
    assert set(_samples()) == set(OPS)


# ops without an autograd formula (backward passes are once differentiable; the rest have no
# float output to differentiate or are used in backward passes only)
NOT_DIFFERENTIABLE = {
    "csr_gather_sum", "face_pairs", "group_by_key", "marching_cubes", "sample_farthest_points",
}


@pytest.mark.parametrize("name", sorted(OPS))
def test_opcheck(name):
    args = _samples()[name]
    if name.endswith("_backward") or name in NOT_DIFFERENTIABLE:
        args = tuple(a.detach() if isinstance(a, torch.Tensor) else a for a in args)
    utils = ("test_schema", "test_autograd_registration", "test_faketensor")
    if name not in INT_FIRST:
        utils += ("test_aot_dispatch_dynamic",)
    torch.library.opcheck(OPS[name], args, test_utils=utils)


# opcheck's AOT test sums the outputs into the type of the first, which fails when it is int64
# (pix_to_face, idx); test_compile_matches_eager covers their AOT tracing instead
INT_FIRST = {"rasterize_meshes", "rasterize_points"}


@pytest.mark.parametrize("name", sorted(INT_FIRST))
def test_compile_matches_eager(name):
    args = _samples()[name]
    grads = []
    for fn in (OPS[name], torch.compile(OPS[name], fullgraph=True, dynamic=False)):
        out = fn(*args)
        floats = [o for o in out if o.is_floating_point()]
        loss = sum((o * torch.linspace(0, 1, o.numel(), dtype=D).view_as(o)).sum() for o in floats)
        grads.append((out, torch.autograd.grad(loss, args[0])[0]))
    (want, want_grad), (got, got_grad) = grads
    for a, b in zip(want, got):
        torch.testing.assert_close(a, b)
    torch.testing.assert_close(want_grad, got_grad)


def test_ops_are_reachable_as_torch_ops():
    p1, p2 = _rand(1, 4, 3, grad=False), _rand(1, 5, 3, grad=False)
    dists, idx = torch.ops.r3d.knn_points(p1, p2, _lengths(4), _lengths(5), 1, 2)
    assert torch.equal(idx, knn_points(p1, p2).idx)
    assert torch.allclose(dists, knn_points(p1, p2).dists)


def test_half_inputs_run_natively_in_float32(monkeypatch):
    """float16 / bfloat16 run the native kernel (not the twin) and come back in their dtype."""
    p1, p2 = torch.rand(2, 30, 3), torch.rand(2, 40, 3)
    want = knn_points(p1.half().float(), p2.half().float(), K=3)
    monkeypatch.setattr("r3d.ops.knn.knn_points_torch", None)  # the twin must not run
    for dtype in (torch.float16, torch.bfloat16):
        a, b = p1.to(dtype).requires_grad_(), p2.to(dtype)
        got = knn_points(a, b, K=3)
        assert got.dists.dtype == dtype and got.idx.dtype == torch.int64
        if dtype == torch.float16:
            assert torch.equal(got.idx, want.idx)
        got.dists.sum().backward()
        assert a.grad.dtype == dtype and torch.isfinite(a.grad.float()).all()


def test_fallback_warns_once_per_op_and_reason(monkeypatch, caplog):
    monkeypatch.setattr(core, "_warned", set())
    monkeypatch.setattr(core, "_C", None)
    monkeypatch.setattr(core, "_IMPORT_ERROR", ImportError("stale build"))
    p = torch.rand(1, 5, 3)
    with caplog.at_level(logging.WARNING, logger="r3d.ops"):
        first = knn_points(p, p, K=2)
        knn_points(p, p, K=2)
    warnings = [r.getMessage() for r in caplog.records if r.name == "r3d.ops"]
    assert len(warnings) == 1
    assert "knn_points" in warnings[0] and "stale build" in warnings[0]
    assert torch.equal(first.idx[..., 0], torch.arange(5)[None])


def test_integer_inputs_go_to_the_twin_silently(caplog):
    with caplog.at_level(logging.WARNING, logger="r3d.ops"):
        assert not core.use_native(torch.zeros(3, dtype=torch.int64), "knn_points")
    assert not caplog.records


def test_torch_only_and_r3d_native_0_choose_the_twins_without_warning(monkeypatch, caplog):
    p = torch.rand(1, 5, 3)
    with caplog.at_level(logging.WARNING, logger="r3d.ops"):
        with core.torch_only():
            assert not core.use_native(p, "knn_points")
        monkeypatch.setattr(core, "_NATIVE_OFF", True)
        assert not core.use_native(p, "knn_points")
    assert not caplog.records


def test_other_devices_are_named_in_the_warning():
    assert core.native_missing(torch.device("mps"), torch.float32) == \
        "no native kernels for mps tensors"
    assert core.native_missing(torch.device("cpu"), torch.float16) is None
    assert core.native_missing(torch.device("cpu"), torch.int32) == \
        "no native kernel for torch.int32 tensors"
    if not core.built_with_cuda():
        assert "built without its CUDA kernels" in core.native_missing(
            torch.device("cuda"), torch.float32)
