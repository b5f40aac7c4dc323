"""chamfer_distance's fused native CPU path (r3d.loss._chamfer_native): the calls it covers run it
and nothing else, match the knn_points path and the pure-PyTorch search, gradcheck, do not depend
on the thread count; the other calls keep the knn_points path; its ops check their inputs."""

from __future__ import annotations

import functools

import pytest
import torch

import r3d.loss.chamfer as chamfer_module
from r3d.errors import InputError
from r3d.loss import chamfer_distance
from r3d.loss.chamfer import chamfer_distance_with_knn
from r3d.ops.knn import knn_points, knn_points_torch

# every size pairing of a cloud with its counterpart, empty ones included
X_LENGTHS = [300, 0, 17, 1, 250, 0, 64]
Y_LENGTHS = [280, 40, 0, 1, 3, 0, 64]


def clouds(dtype=torch.float64, seed=0, pad=5):
    """Heterogeneous padded batches x (N, P1, 3), y (N, P2, 3) with NaN in the padding (never
    read), their lengths and (N,) weights."""
    g = torch.Generator().manual_seed(seed)
    N = len(X_LENGTHS)

    def batch(lengths):
        points = torch.randn(N, max(lengths) + pad, 3, generator=g, dtype=dtype)
        for n, length in enumerate(lengths):
            points[n, length:] = float("nan")
        return points

    return (batch(X_LENGTHS), batch(Y_LENGTHS), torch.tensor(X_LENGTHS), torch.tensor(Y_LENGTHS),
            torch.rand(N, generator=g, dtype=dtype))


@pytest.fixture
def fused_only(monkeypatch):
    """The knn_points path may not run."""
    def refuse(*args, **kwargs):
        raise AssertionError("the knn_points path ran")

    monkeypatch.setattr(chamfer_module, "_one_direction", refuse)


def _run(fn, x, y, **kwargs):
    """fn's loss and its gradients w.r.t. x and y (zero in the NaN padding rows, which no
    path reads)."""
    x, y = x.detach().requires_grad_(), y.detach().requires_grad_()
    loss, normals = fn(x, y, **kwargs)
    assert normals is None
    total = loss.sum() if isinstance(loss, torch.Tensor) else sum(t.sum() for t in loss)
    return (loss, *torch.autograd.grad(total, (x, y)))


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("norm", [2, 1])
@pytest.mark.parametrize("point_reduction", ["mean", "sum"])
@pytest.mark.parametrize("batch_reduction", ["mean", "sum", None])
def test_matches_the_knn_and_torch_paths(dtype, norm, point_reduction, batch_reduction,
                                         monkeypatch):
    x, y, lx, ly, weights = clouds(dtype)
    tol = dict(rtol=1e-5, atol=1e-6) if dtype == torch.float32 else dict(rtol=1e-10, atol=1e-12)
    for single_directional in (False, True):
        for w in (None, weights):
            kwargs = dict(x_lengths=lx, y_lengths=ly, weights=w, norm=norm,
                          point_reduction=point_reduction, batch_reduction=batch_reduction,
                          single_directional=single_directional)
            want = _run(functools.partial(chamfer_distance_with_knn, knn_points), x, y, **kwargs)
            twin = _run(functools.partial(chamfer_distance_with_knn, knn_points_torch), x, y,
                        **kwargs)
            with monkeypatch.context() as m:
                m.setattr(chamfer_module, "_one_direction", None)  # the fused path only
                got = _run(chamfer_distance, x, y, **kwargs)
            for g, a, b in zip(got, want, twin):
                torch.testing.assert_close(g, a, **tol)
                torch.testing.assert_close(g, b, **tol)


def test_gradcheck_float64(fused_only):
    g = torch.Generator().manual_seed(1)
    x = torch.randn(3, 6, 3, generator=g, dtype=torch.float64, requires_grad=True)
    y = torch.randn(3, 5, 3, generator=g, dtype=torch.float64, requires_grad=True)
    lx, ly = torch.tensor([6, 0, 4]), torch.tensor([5, 2, 3])
    weights = torch.tensor([0.5, 2.0, 1.5], dtype=torch.float64)
    for norm in (2, 1):
        for point_reduction, single in (("mean", False), ("sum", True)):
            def fn(x, y, norm=norm, point_reduction=point_reduction, single=single):
                return chamfer_distance(x, y, lx, ly, weights=weights, norm=norm,
                                        point_reduction=point_reduction,
                                        batch_reduction=None, single_directional=single)[0]

            assert torch.autograd.gradcheck(fn, (x, y))


def test_results_do_not_depend_on_the_threads(fused_only):
    # large enough for the kernels to take a second thread
    g = torch.Generator().manual_seed(2)
    x, y = torch.randn(4, 30_000, 3, generator=g), torch.randn(4, 20_000, 3, generator=g)
    lx, ly = torch.tensor([30_000, 100, 0, 25_000]), torch.tensor([20_000, 20_000, 5, 7])
    threads = torch.get_num_threads()
    runs = []
    try:
        for n in (1, 2):
            torch.set_num_threads(n)
            runs.append(_run(chamfer_distance, x, y, x_lengths=lx, y_lengths=ly,
                             batch_reduction=None))
    finally:
        torch.set_num_threads(threads)
    for a, b in zip(*runs):
        assert torch.equal(a, b)


@pytest.mark.parametrize("kwargs", [
    dict(point_reduction="max"), dict(point_reduction=None, batch_reduction=None),
    dict(with_normals=True), dict(dims=2), dict(dtype=torch.float16),
])
def test_other_calls_keep_the_knn_path(kwargs, monkeypatch):
    x, y, lx, ly, _ = clouds(kwargs.pop("dtype", torch.float32))
    dims = kwargs.pop("dims", 3)
    x, y = x[..., :dims].contiguous(), y[..., :dims].contiguous()
    if kwargs.pop("with_normals", False):
        kwargs.update(x_normals=torch.ones_like(x), y_normals=torch.ones_like(y))
    want = chamfer_distance_with_knn(knn_points, x, y, lx, ly, **kwargs)
    monkeypatch.setattr(chamfer_module.fused_path, "nearest_sums", None)  # may not run
    got = chamfer_distance(x, y, lx, ly, **kwargs)
    for g, w in zip(got, want):
        if g is not None:
            g, w = (g, w) if isinstance(g, tuple) else ((g,), (w,))
            for a, b in zip(g, w):
                torch.testing.assert_close(a, b, equal_nan=True)


def test_ops_check_their_inputs():
    x, y, lx, ly, _ = clouds()
    x, y = torch.nan_to_num(x), torch.nan_to_num(y)
    sums, x_idx, y_idx = torch.ops.r3d.chamfer_distance(x, y, lx, ly, 2, 2)
    assert sums.shape == (2, len(X_LENGTHS)) and x_idx.dtype == torch.int32
    assert y_idx.shape == y.shape[:2]
    assert torch.ops.r3d.chamfer_distance(x, y, lx, ly, 2, 1)[2].shape == (len(X_LENGTHS), 0)
    grad = torch.ones_like(sums)
    bad_idx = x_idx.clone()
    bad_idx[0, 0] = y.shape[1]
    with pytest.raises(InputError, match="x_idx"):
        torch.ops.r3d.chamfer_distance_backward(x, y, lx, ly, bad_idx, y_idx, grad, 2)
    with pytest.raises(InputError, match="norm"):
        torch.ops.r3d.chamfer_distance(x, y, lx, ly, 3, 2)
    with pytest.raises(InputError, match="3D clouds"):
        torch.ops.r3d.chamfer_distance(x[..., :2].contiguous(), y[..., :2].contiguous(), lx, ly,
                                       2, 2)
    with pytest.raises(InputError, match="grad_sums"):
        torch.ops.r3d.chamfer_distance_backward(x, y, lx, ly, x_idx, y_idx, grad[:, :2], 2)
