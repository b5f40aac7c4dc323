"""r3d's native ops as torch.library operators: opcheck of every op (schema, fake tensors,
autograd registration, AOT dispatch), the no-silent-fallback warnings and half precision."""

from __future__ import annotations

import logging

import pytest
import torch
from op_samples import INT_FIRST, NOT_DIFFERENTIABLE, D, op_samples

import r3d.loss  # noqa: F401  (registers the ops)
import r3d.ops  # noqa: F401
import r3d.renderer  # noqa: F401
from r3d._native import core
from r3d._native.library import OPS
from r3d.errors import NativeError
from r3d.ops import knn_points


def test_every_native_op_has_a_sample():
    assert set(op_samples()) == set(OPS)


@pytest.mark.parametrize("name", sorted(OPS))
def test_opcheck(name):
    args = op_samples()[name]
    if name.endswith("_backward") or name in NOT_DIFFERENTIABLE:
        args = tuple(a.detach() if isinstance(a, torch.Tensor) else a for a in args)
    utils = ("test_schema", "test_autograd_registration", "test_faketensor")
    if name not in INT_FIRST:
        utils += ("test_aot_dispatch_dynamic",)
    torch.library.opcheck(OPS[name], args, test_utils=utils)


@pytest.mark.parametrize("name", sorted(INT_FIRST))
def test_compile_matches_eager(name):
    args = op_samples()[name]
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
    p1, p2 = torch.rand(1, 4, 3, dtype=D), torch.rand(1, 5, 3, dtype=D)
    dists, idx = torch.ops.r3d.knn_points(p1, p2, torch.tensor([4]), torch.tensor([5]), 1, 2)
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



class _FakeModule:
    """r3d._C as a CUDA build would report itself."""

    def __init__(self, built: str, driver: int):
        self.built, self.driver = built, driver

    def build_info(self):
        return {"cuda_version": self.built}

    def cuda_driver_version(self):
        return self.driver


@pytest.mark.parametrize(("built", "driver", "torch_cuda", "outcome"), [
    ("13.0.88", 12040, "13.0", "error"),  # driver supports 12.4 only
    ("13.0.88", 13010, "12.8", "warning"),  # torch on another major version
    ("13.0.88", 13010, "13.0", "quiet"),
    ("12.4.99", 13010, None, "quiet"),  # a CPU torch: nothing to compare
])
def test_cuda_version_checks(monkeypatch, caplog, built, driver, torch_cuda, outcome):
    monkeypatch.setattr(core, "module", lambda: _FakeModule(built, driver))
    monkeypatch.setattr(torch.version, "cuda", torch_cuda)
    core.check_cuda_versions.cache_clear()
    try:
        with caplog.at_level(logging.WARNING, logger="r3d.ops"):
            if outcome == "error":
                with pytest.raises(NativeError, match=r"built with CUDA 13\.0\.88, but the "
                                                      r"NVIDIA driver supports CUDA 12\.4"):
                    core.check_cuda_versions()
            else:
                core.check_cuda_versions()
        warned = [r for r in caplog.records if "torch with CUDA" in r.getMessage()]
        assert bool(warned) == (outcome == "warning")
    finally:
        core.check_cuda_versions.cache_clear()


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_more_ops_take_half_inputs_natively(dtype, monkeypatch):
    """Each op casts to float32 for its kernel and back (the twins must not run)."""
    from r3d.ops import interpolate_face_attributes, mesh_face_areas_normals, packed_to_padded

    verts = torch.rand(6, 3)
    faces = torch.tensor([[0, 1, 2], [2, 3, 4], [1, 4, 5]])
    for name in ("mesh_face_areas_normals_torch", "packed_to_padded_torch",
                 "interpolate_face_attributes_torch"):
        monkeypatch.setattr(f"r3d.structures.{_MODULES[name]}.{name}", None)
    areas, normals = mesh_face_areas_normals(verts.to(dtype), faces)
    want = mesh_face_areas_normals(verts.to(dtype).float(), faces)
    assert areas.dtype == normals.dtype == dtype
    torch.testing.assert_close(areas, want[0].to(dtype))
    padded = packed_to_padded(verts.to(dtype), torch.tensor([0, 4]), 4)
    assert padded.dtype == dtype and torch.equal(padded[1, :2], verts[4:].to(dtype))
    pix = torch.tensor([0, -1, 2]).view(1, 1, 3, 1)
    bary = torch.full((1, 1, 3, 1, 3), 1 / 3, dtype=dtype)
    out = interpolate_face_attributes(pix, bary, verts[faces].to(dtype))
    assert out.dtype == dtype and torch.equal(out[0, 0, 1], torch.zeros(1, 3, dtype=dtype))


_MODULES = {
    "mesh_face_areas_normals_torch": "mesh_face_areas_normals",
    "packed_to_padded_torch": "packed_padded",
    "interpolate_face_attributes_torch": "interp_face_attrs",
}
