import warnings

import pytest
import torch

from r3d.errors import InputError
from r3d.ops import (
    ICPSolution,
    SimilarityTransform,
    corresponding_points_alignment,
    iterative_closest_point,
)
from r3d.structures import Pointclouds
from r3d.transforms import axis_angle_to_matrix, random_rotations


def _similarity(N, dtype=torch.float64, seed=0, scale=True, reflect=False):
    g = torch.Generator().manual_seed(seed)
    R = random_rotations(N, dtype=dtype, generator=g)
    if reflect:
        R = R * torch.tensor([1.0, 1.0, -1.0], dtype=dtype)  # det -1
    T = torch.randn(N, 3, generator=g, dtype=dtype)
    s = (torch.rand(N, generator=g, dtype=dtype) + 0.5) if scale else torch.ones(N, dtype=dtype)
    return SimilarityTransform(R, T, s)


def _apply(X, t):
    return t.s[:, None, None] * X @ t.R + t.T[:, None]


def _close(a, b, atol=1e-8):
    for x, y in zip(a, b):
        torch.testing.assert_close(x, y, atol=atol, rtol=0)


@pytest.mark.parametrize("estimate_scale", [False, True])
def test_recovers_random_similarity(device, estimate_scale):
    X = torch.randn(4, 30, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    true = _similarity(4, scale=estimate_scale)
    Y = _apply(X, true)
    got = corresponding_points_alignment(X.to(device), Y.to(device), estimate_scale=estimate_scale)
    _close([t.cpu() for t in got], true)
    assert torch.linalg.det(got.R).gt(0).all()


def test_float32_and_other_dimensions():
    g = torch.Generator().manual_seed(2)
    X = torch.randn(3, 40, 5, generator=g)
    Q = torch.linalg.qr(torch.randn(3, 5, 5, generator=g)).Q
    Q[torch.linalg.det(Q) < 0, :, 0] *= -1
    Y = 2.0 * X @ Q + 1.0
    R, T, s = corresponding_points_alignment(X, Y, estimate_scale=True)
    torch.testing.assert_close(R, Q, atol=1e-4, rtol=0)
    torch.testing.assert_close(s, torch.full((3,), 2.0), atol=1e-4, rtol=0)
    torch.testing.assert_close(T, torch.ones(3, 5), atol=1e-4, rtol=0)


@pytest.mark.parametrize("as_list", [False, True])
def test_zero_weights_ignore_outliers(as_list):
    g = torch.Generator().manual_seed(3)
    X = torch.randn(2, 25, 3, dtype=torch.float64, generator=g)
    true = _similarity(2, seed=4)
    Y = _apply(X, true)
    weights = torch.rand(2, 25, dtype=torch.float64, generator=g) + 0.1
    weights[:, :5] = 0
    Y[:, :5] += 10 * torch.randn(2, 5, 3, dtype=torch.float64, generator=g)  # outliers
    w = list(weights) if as_list else weights
    _close(corresponding_points_alignment(X, Y, w, estimate_scale=True), true)
    # Unweighted, the outliers spoil the fit.
    assert not torch.allclose(corresponding_points_alignment(X, Y).R, true.R, atol=1e-3)


def test_reflection_handling():
    X = torch.randn(3, 20, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(5))
    true = _similarity(3, seed=6, reflect=True)
    Y = _apply(X, true)
    _close(corresponding_points_alignment(X, Y, estimate_scale=True, allow_reflection=True), true)
    R = corresponding_points_alignment(X, Y, estimate_scale=True).R
    det = torch.linalg.det(R)
    torch.testing.assert_close(det, torch.ones_like(det))
    torch.testing.assert_close(R.transpose(1, 2) @ R, torch.eye(3, dtype=R.dtype).expand(3, 3, 3))


def test_heterogeneous_pointclouds_match_per_cloud():
    g = torch.Generator().manual_seed(7)
    sizes = [12, 30, 5]
    true = _similarity(3, seed=8)
    xs = [torch.randn(n, 3, dtype=torch.float64, generator=g) for n in sizes]
    ys = [_apply(x[None], SimilarityTransform(*(t[i : i + 1] for t in true)))[0]
          for i, x in enumerate(xs)]
    got = corresponding_points_alignment(Pointclouds(xs), Pointclouds(ys), estimate_scale=True)
    _close(got, true)
    for i, (x, y) in enumerate(zip(xs, ys)):
        alone = corresponding_points_alignment(x[None], y[None], estimate_scale=True)
        _close([t[i : i + 1] for t in got], alone, atol=1e-10)


def test_gradcheck_wrt_X_and_Y():
    g = torch.Generator().manual_seed(9)
    X = torch.randn(2, 8, 3, dtype=torch.float64, generator=g, requires_grad=True)
    Y = (_apply(X.detach(), _similarity(2, seed=10))
         + 0.1 * torch.randn(2, 8, 3, dtype=torch.float64, generator=g)).requires_grad_(True)
    w = torch.rand(2, 8, dtype=torch.float64, generator=g) + 0.5

    def f(a, b):
        return tuple(corresponding_points_alignment(a, b, w, estimate_scale=True))

    assert torch.autograd.gradcheck(f, (X, Y))


def test_icp_converges_on_rotated_translated_copy(device):
    g = torch.Generator().manual_seed(11)
    N = 3
    X = torch.rand(N, 300, 3, dtype=torch.float64, generator=g) * torch.tensor([1.0, 2.0, 3.0])
    axis = torch.randn(N, 3, dtype=torch.float64, generator=g)
    R = axis_angle_to_matrix(axis / axis.norm(dim=1, keepdim=True) * 0.3)
    T = 0.1 * torch.randn(N, 3, dtype=torch.float64, generator=g)
    perm = torch.randperm(300, generator=g)
    Y = (X @ R + T[:, None])[:, perm]
    sol = iterative_closest_point(X.to(device), Y.to(device))
    assert isinstance(sol, ICPSolution) and sol.converged
    assert len(sol.t_history) <= 100
    torch.testing.assert_close(sol.RTs.R.cpu(), R, atol=1e-6, rtol=0)
    torch.testing.assert_close(sol.RTs.T.cpu(), T, atol=1e-6, rtol=0)
    torch.testing.assert_close(sol.Xt.cpu(), X @ R + T[:, None], atol=1e-6, rtol=0)
    assert bool((sol.rmse < 1e-6).all())
    for t in sol.t_history[-1]:
        assert t.shape[0] == N


def test_icp_heterogeneous_pointclouds_with_empty_cloud():
    g = torch.Generator().manual_seed(12)
    sizes = [200, 0, 150]
    xs = [torch.rand(n, 3, dtype=torch.float64, generator=g) * 2 for n in sizes]
    R = axis_angle_to_matrix(torch.tensor([[0.0, 0.0, 0.4], [0.1, 0.0, 0.0], [0.2, 0.2, 0.0]],
                                          dtype=torch.float64))
    T = torch.tensor([[0.1, 0.0, 0.0], [0.0, 0.0, 0.0], [0.0, -0.1, 0.05]], dtype=torch.float64)
    ys = [x @ R[i] + T[i] for i, x in enumerate(xs)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the empty cloud has no unique rotation
        sol = iterative_closest_point(Pointclouds(xs), Pointclouds(ys))
    assert sol.converged and isinstance(sol.Xt, Pointclouds)
    assert sol.Xt.num_points_per_cloud().tolist() == sizes
    for i in (0, 2):
        torch.testing.assert_close(sol.RTs.R[i], R[i], atol=1e-6, rtol=0)
        torch.testing.assert_close(sol.Xt.points_list()[i], ys[i], atol=1e-6, rtol=0)
    assert sol.rmse[1] == 0


def test_icp_starts_from_init_transform_and_estimates_scale():
    g = torch.Generator().manual_seed(14)
    X = torch.rand(2, 250, 3, dtype=torch.float64, generator=g) * torch.tensor([1.0, 2.0, 3.0])
    axis = torch.tensor([[0.0, 0.0, 2.0], [2.0, 1.0, 0.0]], dtype=torch.float64)
    R = axis_angle_to_matrix(axis)  # too far from the identity to find without help
    true = SimilarityTransform(R, torch.tensor([[0.3, 0.0, -0.2], [1.0, 2.0, 3.0]],
                                               dtype=torch.float64),
                               torch.tensor([1.3, 0.8], dtype=torch.float64))
    Y = _apply(X, true)
    nudge = axis_angle_to_matrix(torch.tensor([[0.05, 0.0, 0.0], [0.0, -0.05, 0.0]],
                                              dtype=torch.float64))
    init = SimilarityTransform(nudge @ R, true.T + 0.05, true.s * 1.05)
    sol = iterative_closest_point(X, Y, init_transform=init, estimate_scale=True)
    assert sol.converged
    _close(sol.RTs, true, atol=1e-6)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # stuck far from the truth, the fit may degenerate
        assert not iterative_closest_point(X, Y, estimate_scale=True).rmse.lt(1e-6).all()


def test_icp_verbose_prints(capsys):
    X = torch.randn(1, 20, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(13))
    iterative_closest_point(X, X + 0.01, max_iterations=3, verbose=True)
    out = capsys.readouterr().out
    assert "ICP iteration 0" in out and "ICP has" in out


def test_invalid_alignment_arguments():
    X = torch.randn(2, 6, 3)
    with pytest.raises(InputError, match="X and Y"):
        corresponding_points_alignment(X, X[:, :5])
    with pytest.raises(InputError, match="X and Y"):
        corresponding_points_alignment(X, X.double())
    bad = X.clone()
    bad[1, 2, 0] = float("nan")
    with pytest.raises(InputError, match="Y"):
        corresponding_points_alignment(X, bad)
    with pytest.raises(InputError, match="X"):
        corresponding_points_alignment(X[0], X[0])
    with pytest.raises(InputError, match="weights"):
        corresponding_points_alignment(X, X, torch.ones(2, 5))
    with pytest.raises(InputError, match="weights"):
        corresponding_points_alignment(X, X, -torch.ones(2, 6))
    with pytest.raises(InputError, match="weights"):
        corresponding_points_alignment(X, X, [torch.ones(6), torch.ones(5)])


def test_invalid_icp_arguments():
    X = torch.randn(2, 6, 3)
    with pytest.raises(InputError, match="X and Y"):
        iterative_closest_point(X, torch.randn(3, 6, 3))
    with pytest.raises(InputError, match="max_iterations"):
        iterative_closest_point(X, X, max_iterations=0)
    with pytest.raises(InputError, match="init_transform"):
        iterative_closest_point(X, X, init_transform=(torch.eye(3), torch.zeros(3), 1.0))
    with pytest.raises(InputError, match="Y"):
        iterative_closest_point(Pointclouds([X[0], X[1]]), Pointclouds([X[0], X[1, :0]]))
    bad = X.clone()
    bad[0, 0, 0] = float("inf")
    with pytest.raises(InputError, match="X"):
        iterative_closest_point(bad, X)
