"""A hypothesis-driven argument sweep of every native op (issue 22, "sanitized native kernels").

Two sweeps, each example one call:

- every op registered in ``torch.ops.r3d`` (:data:`r3d._native.library.OPS`, the only callers of
  the kernels) called on one valid sample (tests/op_samples.py) with one argument mutated: another
  dtype (int, float16, bool), a dimension dropped or added, a size grown or shrunk, a
  non-contiguous view, NaN / inf / 1e30 values, indices out of range, odd integers. The call must
  return or raise an r3d error, never another exception (and, under tools/sanitize, never a
  sanitizer report);
- every public op with a native kernel (:data:`r3d.doctor.NATIVE_OP_NAMES`) on random inputs
  (empty and one-element batches, K larger than the clouds, NaN / inf / 1e30 values,
  non-contiguous tensors, float32 and float64), forward and backward, natively and as its
  pure-PyTorch twin (:func:`r3d._native.torch_only`): both return equal results, or both raise an
  r3d error. With NaN, inf or 1e30 among the inputs the native op may instead raise InputError,
  and the results are compared as :func:`assert_same` says.

``R3D_SWEEP_EXAMPLES`` sets the examples per op and draws them at random (default: the same 25
each run, to keep the suite's run short and stable; tools/sanitize runs 200 under ASan and UBSan).
"""

from __future__ import annotations

import contextlib
import os

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from op_samples import op_samples

import r3d.loss
from r3d import ops, renderer
from r3d._native import torch_only
from r3d._native.library import OPS
from r3d.doctor import NATIVE_OP_NAMES
from r3d.errors import R3DError
from r3d.structures import Meshes, Pointclouds

# the suite's run draws the same examples every time; R3D_SWEEP_EXAMPLES draws new ones
EXAMPLES = int(os.environ.get("R3D_SWEEP_EXAMPLES", "25"))
SWEEP = settings(max_examples=EXAMPLES, deadline=None,
                 derandomize="R3D_SWEEP_EXAMPLES" not in os.environ,
                 suppress_health_check=list(HealthCheck), database=None)

# ---- sweep 1: the registered ops, one argument of a valid call mutated ----------------------

TENSOR_MUTATIONS = (
    "int32", "int64", "float16", "float32", "bool", "drop_dim", "add_dim", "grow", "shrink",
    "empty", "non_contiguous", "nan", "inf", "huge", "negative", "out_of_range",
)
INT_MUTATIONS = (-1, 0, 1, 2, 100)


def mutate_tensor(t: torch.Tensor, how: str) -> torch.Tensor:
    """``t`` changed as ``how`` (one of :data:`TENSOR_MUTATIONS`) says."""
    t = t.detach()
    if how in ("int32", "int64", "float16", "float32", "bool"):
        return t.to(getattr(torch, how))
    if how == "drop_dim":
        return t.reshape(-1) if t.dim() > 1 else t.sum()
    if how == "add_dim":
        return t.unsqueeze(0)
    if how in ("grow", "shrink", "empty"):
        if t.dim() == 0:
            return t
        rows = {"grow": t.shape[0] + 2, "shrink": max(t.shape[0] - 1, 0), "empty": 0}[how]
        return torch.cat([t] * 3)[:rows] if t.shape[0] else t.new_zeros((rows, *t.shape[1:]))
    if how == "non_contiguous":
        return torch.stack([t, t], dim=-1)[..., 0]
    if t.numel() == 0:
        return t
    out = t.clone()  # strides kept (a permuted sample stays permuted)
    if how in ("nan", "inf", "huge"):
        if out.is_floating_point():
            at = torch.unravel_index(torch.tensor(out.numel() // 2), out.shape)
            out[at] = {"nan": float("nan"), "inf": float("inf"), "huge": 1e30}[how]
        return out
    at = torch.unravel_index(torch.tensor(out.numel() - 1), out.shape)
    if how == "negative":
        out[at] = -out[at] - 1 if out.is_floating_point() else -7
    elif out.dtype != torch.bool:  # out_of_range
        out[at] = 10**6
    return out


@st.composite
def mutated_calls(draw, name: str):
    """(args, description) of one call of the registered op ``name`` with one argument of its
    valid sample changed."""
    args = list(op_samples()[name])
    args = [a.detach() if isinstance(a, torch.Tensor) else a for a in args]
    i = draw(st.sampled_from([i for i, a in enumerate(args) if isinstance(a, torch.Tensor | int)
                              and not isinstance(a, bool)]))
    if isinstance(args[i], torch.Tensor):
        how = draw(st.sampled_from(TENSOR_MUTATIONS))
        args[i] = mutate_tensor(args[i], how)
    else:
        how = draw(st.sampled_from(INT_MUTATIONS))
        args[i] = how
    return args, f"argument {i}: {how}"


def call_or_r3d_error(fn, *args):
    """fn(*args), or the R3DError it raises (any other exception propagates)."""
    try:
        return fn(*args)
    except R3DError as exc:
        return exc


@pytest.mark.parametrize("name", sorted(OPS))
def test_registered_op_survives_mutated_arguments(name):
    @SWEEP
    @given(mutated_calls(name))
    def check(call):
        args, what = call
        try:
            call_or_r3d_error(OPS[name], *args)
        except Exception as exc:
            raise AssertionError(f"torch.ops.r3d.{name} with {what}: {exc!r}") from exc

    check()


# ---- sweep 2: the public ops, native against the pure-PyTorch twin ---------------------------

SPECIALS = {"nan": float("nan"), "inf": float("inf"), "-inf": float("-inf"), "huge": 1e30,
            "-huge": -1e30}


class Inputs:
    """Draws the tensors of one call and remembers whether any holds NaN or inf."""

    def __init__(self, draw):
        self.draw = draw
        self.dtype = draw(st.sampled_from([torch.float32, torch.float64]))
        self.gen = torch.Generator().manual_seed(draw(st.integers(0, 2**31 - 1)))
        self.non_finite = False
        self.extreme = False

    def size(self, low: int, high: int) -> int:
        return self.draw(st.integers(low, high))

    def floats(self, *shape: int, low: float = -1.0, high: float = 1.0, grad: bool = True,
               special: bool = True) -> torch.Tensor:
        """Uniform values in [low, high) of the call's dtype, perhaps with one NaN, inf or
        +-1e30 and perhaps a non-contiguous view; requires grad when ``grad``."""
        t = torch.rand(*shape, generator=self.gen, dtype=self.dtype) * (high - low) + low
        kind = self.draw(st.sampled_from(["none"] * 6 + list(SPECIALS))) if special else "none"
        if kind != "none" and t.numel():
            at = torch.unravel_index(torch.tensor(self.size(0, t.numel() - 1)), t.shape)
            t[at] = SPECIALS[kind]
            self.non_finite |= kind not in ("huge", "-huge")
            # 1e30 beside values near 1 cancels them (float64 too) and its square overflows
            # float32: ties among infinities, inf - inf
            self.extreme |= kind in ("huge", "-huge")
        if self.draw(st.booleans()):
            t = torch.stack([t, t], dim=-1)[..., 0]
        return t.requires_grad_(grad)

    def ints(self, low: int, high: int, *shape: int) -> torch.Tensor:
        """int64 values in [low, high) (all low when the range is empty)."""
        if high <= low:
            return torch.full(shape, low, dtype=torch.int64)
        return torch.randint(low, high, shape, generator=self.gen)

    def lengths(self, N: int, P: int) -> torch.Tensor | None:
        """(N,) lengths in [0, P], or None (every point valid)."""
        return self.ints(0, P + 1, N) if self.draw(st.booleans()) else None

    def mesh_batch(self, max_meshes: int = 3, max_verts: int = 6, max_faces: int = 6):
        """(verts list, faces list) of up to ``max_meshes`` meshes (one at least), empty ones
        included; faces index their own verts (degenerate ones included)."""
        verts, faces = [], []
        for _ in range(self.size(1, max_meshes)):
            V = self.size(0, max_verts)
            F = self.size(0, max_faces) if V else 0
            verts.append(self.floats(V, 3))
            faces.append(self.ints(0, V, F, 3))
        return verts, faces


def _detached(a):
    if isinstance(a, torch.Tensor):
        return a.detach().clone().requires_grad_(a.requires_grad)
    if isinstance(a, list):
        return [_detached(x) for x in a]
    return a


def _leaves(a) -> list[torch.Tensor]:
    if isinstance(a, torch.Tensor):
        return [a]
    if isinstance(a, list | tuple):
        return [t for x in a for t in _leaves(x)]
    return []


def _outputs(out) -> list[torch.Tensor]:
    """The tensors of an op's result (tuples, named tuples, lists, Meshes and VoxelGrids)."""
    if isinstance(out, torch.Tensor) or out is None:
        return [] if out is None else [out]
    if isinstance(out, list | tuple):
        return [t for x in out for t in _outputs(x)]
    if hasattr(out, "verts_list"):
        return _outputs(out.verts_list()) + _outputs(out.faces_list())
    return _outputs(list(vars(out).values()))


def run(fn, args, native: bool):
    """("ok", outputs + gradients) of fn(*args) and the backward pass of the sum of its
    differentiable outputs, natively or as the twin, or ("error", the R3DError's type)."""
    args = [_detached(a) for a in args]
    inputs = [t for t in _leaves(args) if t.requires_grad]
    try:
        with contextlib.nullcontext() if native else torch_only():
            out = _outputs(fn(*args))
            diff = [t for t in out if t.requires_grad]
            grads = []
            if diff and inputs:
                grads = torch.autograd.grad(sum(t.sum() for t in diff), inputs, allow_unused=True)
    except R3DError as exc:
        return "error", type(exc)
    # an input the outputs do not depend on (e.g. in an empty batch) has a zero gradient
    grads = [torch.zeros_like(t) if g is None else g for t, g in zip(inputs, grads)]
    return "ok", [t.detach() for t in out] + list(grads)


def assert_same(native: list[torch.Tensor], twin: list[torch.Tensor], non_finite: bool,
                extreme: bool = False) -> None:
    """Equal outputs and gradients: integer tensors exactly; float64 to torch's tolerances;
    float32 to rtol 1e-4 and an atol of 1e-4 times the largest finite magnitude of the tensor
    (so that the rounding of large terms, e.g. gradients through a 1 / min_weight, is allowed).
    With ``non_finite`` inputs the entries finite in both must agree and a tensor holding NaN or
    inf must hold one in both (where NaN lands depends on the order of evaluation). When
    ``extreme`` (a coordinate of 1e30 among ones near 1) only shapes and dtypes are compared:
    1e30 + x - 1e30 loses x in either dtype and its square overflows float32, so which of
    several (infinitely) far neighbours or faces is chosen, and the gradients, depend on the
    order of evaluation; those examples check that the kernels survive such values."""
    assert len(native) == len(twin), (len(native), len(twin))
    for i, (a, b) in enumerate(zip(native, twin)):
        assert a.shape == b.shape and a.dtype == b.dtype, f"output {i}: {a} != {b}"
        if extreme:
            continue
        if not a.is_floating_point():
            assert torch.equal(a, b), f"output {i}: {a} != {b}"
            continue
        if non_finite:
            assert a.isfinite().all() == b.isfinite().all(), f"output {i}: {a} != {b}"
            both = a.isfinite() & b.isfinite()
            a, b = a[both], b[both]
        tol = {}
        if a.dtype == torch.float32:
            scale = float(b.abs().max()) if b.numel() and b.isfinite().all() else 0.0
            tol = {"rtol": 1e-4, "atol": 1e-4 * max(scale, 1.0)}
        torch.testing.assert_close(a, b, equal_nan=True, **tol,
                                   msg=lambda m, i=i: f"output or gradient {i}: {m}")


def check_parity(inputs: Inputs, fn, *args):
    """Native and twin calls of fn(*args) agree (see the module docstring)."""
    native = run(fn, args, native=True)
    twin = run(fn, args, native=False)
    if native[0] == "error" and (twin[0] == "error" or inputs.non_finite or inputs.extreme):
        return
    assert native[0] == twin[0] == "ok", f"native: {native}, twin: {twin}"
    assert_same(native[1], twin[1], inputs.non_finite, inputs.extreme)


def _clouds(x: Inputs, D: int | None = None):
    """p1 (N, P1, D), p2 (N, P2, D) and their lengths (or None), N in [0, 3]."""
    N, P1, P2 = x.size(0, 3), x.size(0, 6), x.size(0, 6)
    D = x.size(1, 4) if D is None else D
    return x.floats(N, P1, D), x.floats(N, P2, D), x.lengths(N, P1), x.lengths(N, P2)


def _knn(x: Inputs):
    norm, K = x.draw(st.sampled_from([1, 2])), x.size(1, 8)
    return (lambda p1, p2, l1, l2: ops.knn_points(p1, p2, l1, l2, norm=norm, K=K,
                                                  return_nn=True), *_clouds(x))


def _chamfer(x: Inputs):
    norm = x.draw(st.sampled_from([1, 2]))
    reduction = x.draw(st.sampled_from(["mean", "sum", None]))
    return (lambda p1, p2, l1, l2: r3d.loss.chamfer_distance(
        p1, p2, l1, l2, norm=norm, point_reduction=reduction, batch_reduction=None)[0],
        *_clouds(x))


def _ball_query(x: Inputs):
    K, radius = x.size(1, 8), x.draw(st.sampled_from([0.0, 0.3, 1.0, 5.0]))
    return (lambda p1, p2, l1, l2: ops.ball_query(p1, p2, l1, l2, K=K, radius=radius),
            *_clouds(x))


def _farthest(x: Inputs):
    p, _, lengths, _ = _clouds(x)
    K = x.draw(st.integers(1, 8) | st.lists(st.integers(0, 8), min_size=p.shape[0],
                                            max_size=p.shape[0]))
    return lambda p, lengths: ops.sample_farthest_points(p, lengths, K=K), p, lengths


def _meshes_and_clouds(x: Inputs):
    verts, faces = x.mesh_batch()
    points = [x.floats(x.size(0, 6), 3) for _ in verts]
    return verts, faces, points


def _point_mesh(name: str):
    def case(x: Inputs):
        return (lambda verts, faces, points: getattr(r3d.loss, name)(
            Meshes(verts=verts, faces=faces), Pointclouds(points=points)),
            *_meshes_and_clouds(x))

    return case


def _in_front(x: Inputs, verts: list[torch.Tensor]) -> list[torch.Tensor]:
    """verts moved to z in [1, 3] (in front of the camera), when the draw says so."""
    if not x.draw(st.booleans()):
        return verts
    shift = torch.tensor([0.0, 0.0, 2.0], dtype=x.dtype)
    return [(v.detach() + shift).requires_grad_() for v in verts]


def _rasterize_meshes(x: Inputs):
    verts, faces = x.mesh_batch()
    settings = {
        "image_size": (x.size(1, 7), x.size(1, 7)), "faces_per_pixel": x.size(1, 4),
        "blur_radius": x.draw(st.sampled_from([0.0, 0.01, 0.3])),
        "perspective_correct": x.draw(st.booleans()),
        "clip_barycentric_coords": x.draw(st.booleans()),
        "cull_backfaces": x.draw(st.booleans()),
    }
    return (lambda verts, faces: renderer.rasterize_meshes(Meshes(verts=verts, faces=faces),
                                                           **settings),
            _in_front(x, verts), faces)


def _rasterize_points(x: Inputs):
    points = _in_front(x, [x.floats(x.size(0, 8), 3) for _ in range(x.size(1, 3))])
    settings = {"image_size": (x.size(1, 7), x.size(1, 7)), "points_per_pixel": x.size(1, 4),
                "radius": x.draw(st.sampled_from([0.0, 0.1, 0.5, 3.0]))}
    return (lambda points: renderer.rasterize_points(Pointclouds(points=points), **settings),
            points)


def _compositor(name: str):
    def case(x: Inputs):
        N, K, H, W, C, P = (x.size(0, 2), x.size(1, 4), x.size(1, 4), x.size(1, 4),
                            x.size(0, 3), x.size(0, 6))
        idx = x.ints(-1, P, N, K, H, W)
        alphas = x.floats(N, K, H, W, low=0.0)
        return getattr(renderer, name), idx, alphas, x.floats(C, P)

    return case


def _interpolate(x: Inputs):
    N, H, W, K, F, D = (x.size(0, 2), x.size(1, 4), x.size(1, 4), x.size(1, 3), x.size(0, 5),
                        x.size(1, 3))
    pix_to_face = x.ints(-1, F, N, H, W, K)
    return (ops.interpolate_face_attributes, pix_to_face, x.floats(N, H, W, K, 3),
            x.floats(F, 3, D))


def _first_idxs(x: Inputs, N: int, total: int) -> torch.Tensor:
    """(N,) sorted item starts in [0, total], the first 0."""
    starts = x.ints(0, total + 1, N).sort().values
    if N:
        starts[0] = 0
    return starts


def _packed_to_padded(x: Inputs):
    N, F, D, M = x.size(1, 3), x.size(0, 8), x.size(1, 3), x.size(0, 5)
    rows = x.floats(F, D) if x.draw(st.booleans()) else x.floats(F)
    return (lambda rows, first: ops.packed_to_padded(rows, first, M), rows,
            _first_idxs(x, N, F))


def _padded_to_packed(x: Inputs):
    N, M, D, F = x.size(1, 3), x.size(0, 5), x.size(1, 3), x.size(0, 8)
    return (lambda rows, first: ops.padded_to_packed(rows, first, F), x.floats(N, M, D),
            _first_idxs(x, N, F))


def _face_areas_normals(x: Inputs):
    verts, faces = x.mesh_batch(max_meshes=1)
    return ops.mesh_face_areas_normals, verts[0], faces[0]


def _mesh_loss(name: str, *options):
    def case(x: Inputs):
        verts, faces = x.mesh_batch()
        extra = [x.draw(st.sampled_from(choices)) for choices in options]
        return (lambda verts, faces: getattr(r3d.loss, name)(Meshes(verts=verts, faces=faces),
                                                             *extra), verts, faces)

    return case


def _gather_scatter(x: Inputs):
    V, D, E = x.size(0, 6), x.size(1, 3), x.size(0, 8)
    directed = x.draw(st.booleans())
    edges = x.ints(0, V, E if V else 0, 2)
    return (lambda feats, edges: ops.gather_scatter(feats, edges, directed), x.floats(V, D),
            edges)


def _marching_cubes(x: Inputs):
    shape = (x.size(0, 2), x.size(0, 5), x.size(0, 5), x.size(0, 5))
    isolevel = x.draw(st.sampled_from([None, 0.0, 0.5]))
    return (lambda vol: ops.marching_cubes(vol, isolevel), x.floats(*shape, grad=False))


def _points_to_volumes(x: Inputs):
    N, P, C, D, H, W = (x.size(1, 2), x.size(0, 6), x.size(0, 3), x.size(1, 4), x.size(1, 4),
                        x.size(1, 4))
    mode = x.draw(st.sampled_from(["trilinear", "nearest"]))
    mask = x.ints(0, 2, N, P).bool() if x.draw(st.booleans()) else None
    sizes = torch.stack([x.ints(0, s + 1, N) for s in (D, H, W)], dim=1)
    grid_sizes = sizes if x.draw(st.booleans()) else None
    return (lambda *t: ops.add_points_features_to_volume_densities_features(
        *t, mode=mode, mask=mask, grid_sizes=grid_sizes),
        x.floats(N, P, 3, low=-1.2, high=1.2), x.floats(N, P, C), x.floats(N, 1, D, H, W),
        x.floats(N, C, D, H, W))


def _voxelize(x: Inputs):
    verts, faces = x.mesh_batch()
    resolution = x.draw(st.sampled_from([1, 2, 5, (3, 1, 4)]))
    return (lambda verts, faces: ops.voxelize_meshes(Meshes(verts=verts, faces=faces),
                                                     resolution), verts, faces)


def _emission_absorption(x: Inputs):
    N, C, D, H, W, R, P = (x.size(1, 2), x.size(0, 3), x.size(1, 4), x.size(1, 4), x.size(1, 4),
                           x.size(0, 5), x.size(0, 5))
    thickness = x.size(1, 2)
    return (lambda *t: ops.emission_absorption_grid(*t, surface_thickness=thickness),
            x.floats(N, 1, D, H, W, low=0.0), x.floats(N, C, D, H, W), x.floats(N, R, 3),
            x.floats(N, R, 3), x.floats(N, R, P, low=0.0, high=3.0),
            x.floats(N, 3, low=0.5, high=1.5), x.floats(N, 3, low=-0.2, high=0.2))


CASES = {
    "knn_points": _knn,
    "chamfer_distance": _chamfer,
    "ball_query": _ball_query,
    "sample_farthest_points": _farthest,
    "point_mesh_face_distance": _point_mesh("point_mesh_face_distance"),
    "point_mesh_edge_distance": _point_mesh("point_mesh_edge_distance"),
    "rasterize_meshes": _rasterize_meshes,
    "rasterize_points": _rasterize_points,
    "alpha_composite": _compositor("alpha_composite"),
    "norm_weighted_sum": _compositor("norm_weighted_sum"),
    "weighted_sum": _compositor("weighted_sum"),
    "interpolate_face_attributes": _interpolate,
    "packed_to_padded": _packed_to_padded,
    "padded_to_packed": _padded_to_packed,
    "mesh_face_areas_normals": _face_areas_normals,
    "mesh_edge_loss": _mesh_loss("mesh_edge_loss", [0.0, 0.5]),
    "mesh_normal_consistency": _mesh_loss("mesh_normal_consistency"),
    "mesh_laplacian_smoothing": _mesh_loss("mesh_laplacian_smoothing",
                                           ["uniform", "cot", "cotcurv"]),
    "gather_scatter": _gather_scatter,
    "marching_cubes": _marching_cubes,
    "add_points_features_to_volume_densities_features": _points_to_volumes,
    "voxelize_meshes": _voxelize,
    "emission_absorption_grid": _emission_absorption,
}


def test_every_public_native_op_is_swept():
    assert set(CASES) == set(NATIVE_OP_NAMES)


@pytest.mark.parametrize("name", sorted(CASES))
def test_native_op_matches_twin(name):
    @SWEEP
    @given(st.data())
    def check(data):
        x = Inputs(data.draw)
        fn, *args = CASES[name](x)
        check_parity(x, fn, *args)

    check()


# ---- what the sweeps found, as fixed cases ------------------------------------------------

NAN, INF = float("nan"), float("inf")


def _parity(fn, *args, non_finite: bool = False):
    native, twin = run(fn, args, native=True), run(fn, args, native=False)
    assert native[0] == twin[0] == "ok", (native, twin)
    assert_same(native[1], twin[1], non_finite)
    return native[1]


def test_marching_cubes_of_a_volume_without_cells_is_empty():
    # a side of 1 voxel: no cell, so no surface (the kernel used to emit the crossed edges)
    vol = torch.tensor([[[[0.0, 1.0]]]])
    verts, faces = _parity(lambda v: ops.marching_cubes(v, 0.5), vol)
    assert verts.shape == (0, 3) and faces.shape == (0, 3)


def test_unfused_cross_product_in_twins():
    # a face with a repeated corner: zero area and normal, natively and in the twin (torch.cross
    # fuses multiply-adds, which left a tiny area and a normal of 1e-4)
    verts = torch.tensor([[0.4963, 0.7682, 0.0885], [0.1320, 0.3074, 0.6341]]).requires_grad_()
    areas, normals, _ = _parity(ops.mesh_face_areas_normals, verts, torch.tensor([[0, 1, 1]]))
    assert areas.item() == 0 and not normals.any()


def test_padded_nan_points_reach_no_result():
    p1 = torch.tensor([[[0.1, 0.2, 0.3], [NAN, 0.0, 0.0]]], requires_grad=True)
    p2 = torch.tensor([[[0.0, 0.0, 0.0], [1.0, 1.0, 1.0], [INF, 0.0, 0.0]]], requires_grad=True)
    lengths1, lengths2 = torch.tensor([1]), torch.tensor([2])
    for fn in (lambda *a: ops.knn_points(*a, K=3), lambda *a: ops.ball_query(*a, K=3, radius=2.0),
               lambda *a: r3d.loss.chamfer_distance(*a)[0]):
        for t in _parity(fn, p1, p2, lengths1, lengths2):
            assert t.isfinite().all()


def test_dropped_splats_and_empty_slots_add_nothing():
    # a point outside its (empty) grid with a NaN feature adds nothing
    splat = _parity(
        lambda p, f, d, v: ops.add_points_features_to_volume_densities_features(
            p, f, d, v, grid_sizes=torch.tensor([[0, 1, 1]])),
        torch.tensor([[[-0.9, -0.5, 0.3]]], requires_grad=True),
        torch.tensor([[[NAN]]], requires_grad=True), torch.full((1, 1, 1, 1, 1), 0.8),
        torch.full((1, 1, 1, 1, 1), -0.1))
    assert all(t.isfinite().all() for t in splat)
    # empty slots with no point at all (P = 0), and an inf feature beside an empty slot
    for features in (torch.zeros(3, 0), torch.tensor([[INF]])):
        idx = torch.full((1, 2, 2, 2), -1)
        for name in ("alpha_composite", "norm_weighted_sum", "weighted_sum"):
            image = _parity(getattr(renderer, name), idx, torch.rand(1, 2, 2, 2), features)[0]
            assert not image.any()


def test_point_mesh_distance_beyond_float32_range():
    # the squared distance overflows to inf: the face is still the nearest, with its gradient
    meshes = ([torch.tensor([[0.4, -0.4, -0.4]], requires_grad=True)], [torch.tensor([[0, 0, 0]])])
    points = [torch.tensor([[-0.1, 1e30, -0.5]], requires_grad=True)]
    loss, grad_verts, grad_points = _parity(
        lambda v, f, p: r3d.loss.point_mesh_face_distance(Meshes(verts=v, faces=f),
                                                          Pointclouds(points=p)),
        *meshes, points)
    assert loss.isinf() and grad_points[0, 1] > 1e30 and grad_verts[0, 1] < -1e30


def test_registered_ball_query_with_a_nan_point():
    # the bridge leaves finiteness to the public op; the grid used to convert NaN to int64 (UB
    # that UBSan's float-cast-overflow reports under tools/sanitize)
    p1, p2 = torch.rand(1, 3, 3, dtype=torch.float64), torch.rand(1, 5, 3, dtype=torch.float64)
    p2[0, 2, 1] = NAN
    lengths1, lengths2 = torch.tensor([3]), torch.tensor([5])
    dists, idx = OPS["ball_query"](p1, p2, lengths1, lengths2, 4, 0.5)
    assert idx.shape == (1, 3, 4) and not (idx == 2).any()
