"""r3d's native ops in a CUDA PyTorch pipeline: opcheck on CUDA, no host synchronisation in a
render + backward (torch.cuda.set_sync_debug_mode("error")), a fit step captured in a CUDA
graph, autocast, the caller's current device kept. Skipped without a CUDA device (the GPU
check, tools/gpu-check, runs them; their CPU stand-ins are test_torch_library, test_host_reads
and test_compile)."""

from __future__ import annotations

import contextlib

import pytest
import torch
from op_samples import CPU_ONLY, INT_FIRST, NOT_DIFFERENTIABLE, op_samples

from r3d import value_checks
from r3d._native import core
from r3d._native.library import OPS
from r3d.bench.cases.compiled import chamfer_inputs, chamfer_knn_loss, make_fit_loss, with_grads
from r3d.errors import InputError
from r3d.ops import knn_points

pytestmark = pytest.mark.skipif(
    not (torch.cuda.is_available() and core.built_with_cuda()), reason="needs a CUDA device"
)
CUDA = torch.device("cuda")


@contextlib.contextmanager
def deferred_checks():
    """Value checks as a user runs them on CUDA: deferred (checks on in tests otherwise)."""
    value_checks.set_checks(False)
    try:
        yield
    finally:
        value_checks.set_checks(True)
        value_checks.check_errors()


@pytest.mark.parametrize("name", sorted(set(OPS) - CPU_ONLY))
def test_opcheck_cuda(name):
    args = op_samples(CUDA)[name]
    if name.endswith("_backward") or name in NOT_DIFFERENTIABLE:
        args = tuple(a.detach() if isinstance(a, torch.Tensor) else a for a in args)
    utils = ("test_schema", "test_autograd_registration", "test_faketensor")
    if name not in INT_FIRST:
        utils += ("test_aot_dispatch_dynamic",)
    torch.library.opcheck(OPS[name], args, test_utils=utils)


@pytest.mark.parametrize("loss_of", ["fit", "chamfer"])
def test_render_and_backward_never_sync_cuda(loss_of):
    if loss_of == "fit":
        loss, deform = make_fit_loss(2, CUDA, perspective_correct=False)
        inputs = (deform,)
    else:
        x = chamfer_inputs(2000, CUDA)
        loss, inputs = chamfer_knn_loss, (x["x"], x["y"])
    with deferred_checks():
        with_grads(loss, *inputs)  # first call: topology caches, lazy CUDA init
        torch.cuda.synchronize()
        torch.cuda.set_sync_debug_mode("error")
        try:
            out = with_grads(loss, *inputs)
        finally:
            torch.cuda.set_sync_debug_mode("default")
    assert torch.isfinite(out[0]) and all(torch.isfinite(g).all() for g in out[1:])


def test_fit_step_in_a_cuda_graph_cuda():
    loss, deform = make_fit_loss(2, CUDA, perspective_correct=False)
    with deferred_checks():
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):
            for _ in range(3):  # warm up outside the capture (allocator, caches, flags)
                with_grads(loss, deform)
        torch.cuda.current_stream().wait_stream(side)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            static_loss, static_grad = with_grads(loss, deform)
        with torch.no_grad():
            deform.copy_(0.01 * torch.randn_like(deform))
        graph.replay()
        want_loss, want_grad = with_grads(loss, deform)
    torch.testing.assert_close(static_loss, want_loss)
    torch.testing.assert_close(static_grad, want_grad)


def test_deferred_error_surfaces_at_check_errors_cuda():
    p = torch.rand(2, 6, 3, device=CUDA)
    value_checks.set_checks(False)
    try:
        knn_points(p, p, lengths1=torch.tensor([6, 9], device=CUDA), K=2)
        with pytest.raises(InputError, match="lengths1 has values outside"):
            value_checks.check_errors()
    finally:
        value_checks.set_checks(True)


def test_autocast_runs_natively_in_float32_cuda(monkeypatch):
    monkeypatch.setattr("r3d.ops.knn.knn_points_torch", None)  # the twin must not run
    layer = torch.nn.Linear(3, 3).to(CUDA)
    p = torch.rand(2, 500, 3, device=CUDA)
    with torch.autocast("cuda", dtype=torch.float16):
        q = layer(p)
        out = knn_points(q, q, K=4)
    assert q.dtype == torch.float16 and out.dists.dtype == torch.float16
    want = knn_points(q.float(), q.float(), K=4)
    assert torch.equal(out.idx, want.idx)


def test_launch_keeps_the_current_device_cuda():
    last = torch.cuda.device_count() - 1
    p = torch.rand(1, 50, 3, device=torch.device("cuda", last))
    with torch.cuda.device(0):
        knn_points(p, p, K=2)
        assert torch.cuda.current_device() == 0
        assert core.module().cuda_get_device() == 0
