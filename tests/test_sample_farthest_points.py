"""sample_farthest_points: the native kernels (CPU, CUDA and the CUDA schedule emulated on the
host) against plain loops and the pure-PyTorch twin, random starts, gradients, errors."""

import pytest
import torch

from r3d._native import sample_farthest_points as bridge
from r3d._native import torch_only
from r3d.errors import InputError
from r3d.ops import sample_farthest_points
from r3d.ops.sample_farthest_points import sample_farthest_points_torch

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


@pytest.mark.parametrize("twin", [False, True])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("K", [1, 5, 20])
def test_matches_naive_loop(device, dtype, K, twin):
    points, lengths = _batch(dtype, device)
    if twin:
        with torch_only():
            sel_points, sel_idx = sample_farthest_points(points, lengths, K=K)
    else:
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


def _random_batch(lengths, D, dtype, device, seed, kind="normal"):
    """Padded clouds (N, max(lengths) + 2, D) with garbage (large values) in the padding rows.
    kind: "normal" (Gaussian), "lattice" (small integers: many exactly equal distances) or
    "same" (every point of a cloud equal: every distance 0)."""
    g = torch.Generator().manual_seed(seed)
    N, P = len(lengths), max(lengths, default=0) + 2
    if kind == "lattice":
        points = torch.randint(0, 3, (N, P, D), generator=g).to(torch.float64)
    elif kind == "same":
        points = torch.randn(N, 1, D, generator=g, dtype=torch.float64).expand(N, P, D)
    else:
        points = torch.randn(N, P, D, generator=g, dtype=torch.float64)
    points = points.clone()
    for n, length in enumerate(lengths):
        points[n, length:] = 1e3
    return points.to(dtype=dtype, device=device), torch.tensor(lengths, device=device)


BATCHES = [
    ([30, 0, 7, 1, 45, 12], [5, 3, 9, 1, 45, 20]),  # empty cloud, K above the length, K == length
    ([200], [64]),
    ([0, 0], [2, 1]),
    ([3, 500, 60], [10, 128, 60]),
]


@pytest.mark.parametrize("kind", ["normal", "lattice", "same"])
@pytest.mark.parametrize("D", [1, 2, 3, 5])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("batch", range(len(BATCHES)))
def test_native_matches_twin(device, batch, dtype, D, kind):
    lengths, ks = BATCHES[batch]
    points, lengths_t = _random_batch(lengths, D, dtype, device, seed=batch + 10 * D, kind=kind)
    for random_start in (False, True):
        got = sample_farthest_points(points, lengths_t, K=ks, random_start_point=random_start,
                                     generator=torch.Generator().manual_seed(3))
        want = sample_farthest_points_torch(points, lengths_t, K=ks,
                                            random_start_point=random_start,
                                            generator=torch.Generator().manual_seed(3))
        assert torch.equal(got[1], want[1])
        assert torch.equal(got[0], want[0])


def _indices(points, lengths, ks, start=None, emulate=False):
    N = points.shape[0]
    k = torch.tensor(ks)
    start = torch.zeros(N, dtype=torch.int64) if start is None else start
    return bridge.sample_farthest_points_indices(points, lengths, k, start, max(ks),
                                                 emulate_cuda=emulate)


@pytest.mark.parametrize("kind", ["normal", "lattice", "same"])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("lengths,ks,D", [
    ([30, 0, 7, 1, 45, 12], [5, 3, 9, 1, 45, 20], 3),
    ([5000, 40], [50, 40], 3),  # a block of 1024 threads (32 warps) and one of 32
    ([700, 129, 2000], [30, 129, 17], 2),  # blocks of 6, 2 and 16 warps
    ([300, 0], [40, 2], 7),
])
def test_emulated_cuda_matches_cpu(lengths, ks, D, dtype, kind):
    points, lengths_t = _random_batch(lengths, D, dtype, "cpu", seed=len(lengths), kind=kind)
    g = torch.Generator().manual_seed(5)
    start = (torch.rand(len(lengths), generator=g) * lengths_t.clamp(min=1)).long()
    start = torch.minimum(start, (lengths_t - 1).clamp(min=0))
    cpu = _indices(points, lengths_t, ks, start)
    assert torch.equal(_indices(points, lengths_t, ks, start, emulate=True), cpu)
    assert (cpu[:, 0] == torch.where(lengths_t > 0, start, -1)).all()


def test_result_does_not_depend_on_the_thread_count():
    """One large cloud (its points shared among the threads at each step) and a batch of many
    (clouds in parallel), with exact ties everywhere (lattice points)."""
    threads = torch.get_num_threads()
    cases = [_random_batch([40_000], 3, torch.float32, "cpu", seed=1, kind="lattice") + ([64],),
             _random_batch([40_000], 3, torch.float32, "cpu", seed=2) + ([200],),
             _random_batch([3000] * 6, 2, torch.float64, "cpu", seed=3) + ([100] * 6,)]
    try:
        for points, lengths, ks in cases:
            results = []
            for n in (1, 2, 3):
                torch.set_num_threads(n)
                results.append(_indices(points, lengths, ks))
            assert all(torch.equal(r, results[0]) for r in results)
            want = sample_farthest_points_torch(points, lengths, K=ks)[1]
            assert torch.equal(results[0], want)
    finally:
        torch.set_num_threads(threads)


def test_bridge_rejects_bad_inputs():
    points, lengths = _random_batch([5, 3], 3, torch.float32, "cpu", seed=0)
    k = torch.tensor([2, 2])
    zero = torch.zeros(2, dtype=torch.int64)
    with pytest.raises(InputError, match="start must lie in"):
        bridge.sample_farthest_points_indices(points, lengths, k, torch.tensor([0, 3]), 2)
    with pytest.raises(InputError, match="start must lie in"):
        bridge.sample_farthest_points_indices(points, lengths, k, torch.tensor([-1, 0]), 2)
    with pytest.raises(InputError, match=r"K has values in \[2, 2\], expected them in \[1, 1\]"):
        bridge.sample_farthest_points_indices(points, lengths, k, zero, 1)
    with pytest.raises(InputError, match="lengths has values"):
        bridge.sample_farthest_points_indices(points, lengths + 5, k, zero, 2)
    with pytest.raises(InputError, match="lengths must have dtype torch.int64"):
        bridge.sample_farthest_points_indices(points, lengths.int(), k, zero, 2)
    with pytest.raises(InputError, match=r"start must have shape \(2\)"):
        bridge.sample_farthest_points_indices(points, lengths, k, zero[:1], 2)
    with pytest.raises(InputError, match="points must be float32 or float64"):
        bridge.sample_farthest_points_indices(points.half(), lengths, k, zero, 2)
    with pytest.raises(InputError, match="points must be contiguous"):
        bridge.sample_farthest_points_indices(points.transpose(1, 2), lengths, k, zero, 2)
    with pytest.raises(InputError, match="max_k must be an int"):
        bridge.sample_farthest_points_indices(points, lengths, k, zero, 2.0)
