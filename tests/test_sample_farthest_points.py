import pytest
import torch

from r3d.errors import InputError
from r3d.ops import sample_farthest_points

LENGTHS = [10, 0, 3, 7, 1, 12]  # an empty cloud and clouds smaller than K


def _batch(dtype, device, D=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    # Padding rows hold random values too: they must never be selected.
    points = torch.randn(len(LENGTHS), max(LENGTHS), D, generator=g, dtype=torch.float64)
    return points.to(dtype=dtype, device=device), torch.tensor(LENGTHS, device=device)


def _naive(points, length, k, start=0):
    """Farthest point sampling of one cloud (P, D) by plain loops."""
    chosen = [start] if length else []
    while len(chosen) < min(k, length):
        best, best_dist = 0, -1.0
        for j in range(length):
            d = min(float(((points[j] - points[c]) ** 2).sum()) for c in chosen)
            if d > best_dist:
                best, best_dist = j, d
        chosen.append(best)
    return chosen


def _check(points, lengths, ks, sel_points, sel_idx, starts=None):
    max_k = max(ks)
    assert sel_idx.shape == (len(ks), max_k) and sel_points.shape == (len(ks), max_k, 3)
    for n, (length, k) in enumerate(zip(lengths.tolist(), ks)):
        start = 0 if starts is None else starts[n]
        ref = _naive(points[n].cpu(), length, k, start)
        got = sel_idx[n].tolist()
        assert got == ref + [-1] * (max_k - len(ref))
        assert len(set(ref)) == len(ref)
        torch.testing.assert_close(sel_points[n, : len(ref)], points[n, ref], rtol=0, atol=0)
        assert not sel_points[n, len(ref) :].any()


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("K", [1, 5, 20])
def test_matches_naive_loop(device, dtype, K):
    points, lengths = _batch(dtype, device)
    sel_points, sel_idx = sample_farthest_points(points, lengths, K=K)
    assert sel_idx.dtype == torch.int64 and sel_points.dtype == dtype
    _check(points, lengths, [K] * len(LENGTHS), sel_points, sel_idx)
    # The first sample is point 0 without a random start; K > length returns the whole cloud.
    assert sel_idx[0, 0] == 0
    if K >= 3:
        assert sorted(sel_idx[2, :3].tolist()) == [0, 1, 2]


@pytest.mark.parametrize("as_tensor", [False, True])
def test_per_cloud_k(device, as_tensor):
    points, lengths = _batch(torch.float32, device, seed=1)
    ks = [4, 2, 5, 7, 3, 1]
    K = torch.tensor(ks, device=device) if as_tensor else ks
    sel_points, sel_idx = sample_farthest_points(points, lengths, K=K)
    _check(points, lengths, ks, sel_points, sel_idx)


def test_full_clouds_without_lengths():
    points, _ = _batch(torch.float64, "cpu", seed=2)
    sel_points, sel_idx = sample_farthest_points(points, K=6)
    _check(points, torch.full((len(LENGTHS),), points.shape[1]), [6] * len(LENGTHS),
           sel_points, sel_idx)


def test_random_start_is_reproducible_and_follows_the_rule():
    points, lengths = _batch(torch.float64, "cpu", seed=3)
    a = sample_farthest_points(points, lengths, K=6, random_start_point=True,
                               generator=torch.Generator().manual_seed(7))
    b = sample_farthest_points(points, lengths, K=6, random_start_point=True,
                               generator=torch.Generator().manual_seed(7))
    torch.testing.assert_close(a[1], b[1], rtol=0, atol=0)
    starts = [max(int(i), 0) for i in a[1][:, 0]]
    assert all(0 <= s < max(n, 1) for s, n in zip(starts, LENGTHS))
    _check(points, lengths, [6] * len(LENGTHS), a[0], a[1], starts)
    firsts = {
        int(sample_farthest_points(points[:1], K=1, random_start_point=True)[1][0, 0])
        for _ in range(30)
    }
    assert len(firsts) > 1


def test_gradient_flows_to_selected_points():
    points, lengths = _batch(torch.float64, "cpu", seed=4)
    points.requires_grad_(True)
    sel_points, sel_idx = sample_farthest_points(points, lengths, K=4)
    sel_points.sum().backward()
    expected = torch.zeros_like(points)
    for n, row in enumerate(sel_idx.tolist()):
        for i in row:
            if i >= 0:
                expected[n, i] += 1
    torch.testing.assert_close(points.grad, expected)


def test_empty_batch_and_empty_points():
    sel_points, sel_idx = sample_farthest_points(torch.zeros(0, 5, 3), K=4)
    assert sel_points.shape == (0, 4, 3) and sel_idx.shape == (0, 4)
    sel_points, sel_idx = sample_farthest_points(torch.zeros(2, 0, 3), K=3)
    assert sel_idx.tolist() == [[-1] * 3] * 2 and not sel_points.any()


@pytest.mark.parametrize("K", [0, -1, 2.0, True, [3, 0, 1, 1, 1, 1], [1, 2], "3"])
def test_invalid_k(K):
    points, lengths = _batch(torch.float32, "cpu")
    with pytest.raises(InputError, match="K"):
        sample_farthest_points(points, lengths, K=K)


def test_invalid_points_and_lengths():
    points, lengths = _batch(torch.float32, "cpu")
    bad = points.clone()
    bad[0, 0, 0] = float("nan")
    with pytest.raises(InputError, match="points"):
        sample_farthest_points(bad, lengths)
    bad[0, 0, 0] = 0
    bad[1, 0, 0] = float("inf")  # in the padding of an empty cloud: ignored
    sample_farthest_points(bad, lengths, K=2)
    with pytest.raises(InputError, match="points"):
        sample_farthest_points(points[0], K=2)
    with pytest.raises(InputError, match="points"):
        sample_farthest_points(points.long(), K=2)
    with pytest.raises(InputError, match="lengths"):
        sample_farthest_points(points, lengths.int())
    with pytest.raises(InputError, match="lengths"):
        sample_farthest_points(points, lengths[:2])
    with pytest.raises(InputError, match="lengths"):
        sample_farthest_points(points, lengths + 20)
