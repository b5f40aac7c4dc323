import pytest
import torch

from r3d.errors import InputError
from r3d.ops.knn import knn_gather, knn_points, knn_points_torch


def random_clouds(lengths1, lengths2, D=3, dtype=torch.float32, device="cpu", seed=0):
    """Padded clouds (N, P1, D), (N, P2, D) with garbage in the padding, and their lengths."""
    g = torch.Generator().manual_seed(seed)
    P1, P2 = max(lengths1), max(lengths2)
    p1 = torch.randn(len(lengths1), P1, D, generator=g, dtype=torch.float64)
    p2 = torch.randn(len(lengths2), P2, D, generator=g, dtype=torch.float64)
    l1 = torch.tensor(lengths1)
    l2 = torch.tensor(lengths2)
    to = dict(dtype=dtype, device=device)
    return p1.to(**to), p2.to(**to), l1.to(device), l2.to(device)


# empty query cloud, empty searched cloud, K larger than a cloud, clouds big enough for the tree
HETEROGENEOUS = ([40, 0, 300, 7, 1200], [500, 30, 0, 3, 900])


@pytest.mark.parametrize("K", [1, 4, 33])
@pytest.mark.parametrize("norm", [1, 2])
@pytest.mark.parametrize("D", [3, 2, 5])
def test_native_matches_torch_exactly(device, K, norm, D):
    p1, p2, l1, l2 = random_clouds(*HETEROGENEOUS, D=D, device=device, seed=K + D)
    got = knn_points(p1, p2, l1, l2, norm=norm, K=K, return_nn=True)
    ref = knn_points_torch(p1, p2, l1, l2, norm=norm, K=K, return_nn=True)
    assert got.idx.shape == got.dists.shape == (5, 1200, K)
    assert got.knn.shape == (5, 1200, K, D)
    torch.testing.assert_close(got.idx, ref.idx, rtol=0, atol=0)  # distances are unique
    torch.testing.assert_close(got.dists, ref.dists, rtol=1e-6, atol=1e-6)
    torch.testing.assert_close(got.knn, ref.knn, rtol=0, atol=0)


def test_padding_and_short_clouds_are_zero():
    p1, p2, l1, l2 = random_clouds([5, 3], [2, 0], seed=3)
    for fn in (knn_points, knn_points_torch):
        dists, idx, nn = fn(p1, p2, l1, l2, K=4, return_nn=True)
        assert (dists[0, :, 2:] == 0).all() and (idx[0, :, 2:] == 0).all()
        assert (nn[0, :, 2:] == 0).all()
        assert (dists[1] == 0).all() and (idx[1] == 0).all()  # empty searched cloud
        assert (dists[1, 3:] == 0).all()  # padded queries
        assert (dists[0, :, :2] > 0).all()


def test_sorted_nearest_first_and_true_neighbours():
    p1, p2, l1, l2 = random_clouds([2000], [3000], seed=4)
    dists, idx, _ = knn_points(p1, p2, K=8)
    assert (dists[..., 1:] >= dists[..., :-1]).all()
    full = ((p1[0, :, None] - p2[0, None]) ** 2).sum(-1)
    best = full.topk(8, dim=1, largest=False).values
    torch.testing.assert_close(dists[0], best, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(dists[0], full.gather(1, idx[0]), rtol=1e-5, atol=1e-6)


def test_duplicates_and_ties_prefer_the_lower_index():
    g = torch.Generator().manual_seed(5)
    base = torch.randn(400, 3, generator=g)
    p2 = torch.cat([base, base])[None]  # every point twice: exact ties
    p1 = base[None, :50]
    dists, idx, _ = knn_points(p1, p2, K=2)
    assert (dists == 0).all()
    assert (idx[0, :, 0] == torch.arange(50)).all()
    assert (idx[0, :, 1] == torch.arange(400, 450)).all()
    grid = torch.tensor([[x, y, 0.0] for x in range(20) for y in range(20)])[None]
    q = torch.tensor([[[0.5, 0.5, 0.0]]])  # four neighbours at the same distance
    d, i, _ = knn_points(q, grid, K=4)
    dt, it, _ = knn_points_torch(q, grid, K=4)
    torch.testing.assert_close(d, dt)
    assert i[0, 0].tolist() == [0, 1, 20, 21] == sorted(it[0, 0].tolist())


@pytest.mark.parametrize("K", [1, 8, 32])
@pytest.mark.parametrize("norm", [1, 2])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_tree_ties_on_a_lattice_match_torch(K, norm, dtype):
    """Integer lattices (exact distance ties everywhere, split values shared by many points),
    shuffled, queried from lattice points and half-way between them: same lists as the twin."""
    g = torch.Generator().manual_seed(K + norm)
    axis = torch.arange(12, dtype=dtype)
    lattice = torch.cartesian_prod(axis, axis, axis)
    p2 = torch.stack([lattice[torch.randperm(len(lattice), generator=g)],
                      lattice[torch.randperm(len(lattice), generator=g)]])
    p1 = torch.randint(0, 23, (2, 500, 3), generator=g).to(dtype) / 2
    lengths2 = torch.tensor([len(lattice), 700])
    got = knn_points(p1, p2, lengths2=lengths2, norm=norm, K=K)
    ref = knn_points_torch(p1, p2, lengths2=lengths2, norm=norm, K=K)
    assert torch.equal(got.idx, ref.idx)
    assert torch.equal(got.dists, ref.dists)


def test_self_query_on_large_cloud():
    p, _, _, _ = random_clouds([20000], [1], seed=6)
    dists, idx, _ = knn_points(p, p, K=1)
    assert (idx[0, :, 0] == torch.arange(20000)).all() and (dists == 0).all()


@pytest.mark.parametrize("fn", [knn_points, knn_points_torch])
@pytest.mark.parametrize("norm", [1, 2])
def test_gradcheck(fn, norm):
    p1, p2, l1, l2 = random_clouds([6, 4], [5, 0], dtype=torch.float64, seed=7)
    p1.requires_grad_(True)
    p2.requires_grad_(True)

    def dists(a, b):
        return fn(a, b, l1, l2, norm=norm, K=3, return_nn=True)[0::2]

    assert torch.autograd.gradcheck(dists, (p1, p2), eps=1e-6, atol=1e-5)


def test_native_gradients_match_torch(device):
    p1, p2, l1, l2 = random_clouds(*HETEROGENEOUS, device=device, dtype=torch.float64, seed=8)
    grads = []
    for fn in (knn_points, knn_points_torch):
        a, b = p1.clone().requires_grad_(True), p2.clone().requires_grad_(True)
        dists = fn(a, b, l1, l2, K=5)[0]
        (dists * torch.linspace(0.5, 2, 5, dtype=dists.dtype, device=device)).sum().backward()
        grads.append((a.grad, b.grad))
    torch.testing.assert_close(grads[0][0], grads[1][0])
    torch.testing.assert_close(grads[0][1], grads[1][1])


def test_knn_gather_masks_missing_neighbours():
    x = torch.arange(12.0).reshape(2, 3, 2)
    idx = torch.tensor([[[2, 0]], [[1, 0]]])
    out = knn_gather(x, idx, lengths=torch.tensor([3, 1]))
    assert out.tolist() == [[[[4.0, 5.0], [0.0, 1.0]]], [[[8.0, 9.0], [0.0, 0.0]]]]


def test_other_device_dtype_uses_torch_path():
    p1, p2, l1, l2 = random_clouds([30], [40], dtype=torch.bfloat16, seed=9)
    dists, idx, _ = knn_points(p1, p2, l1, l2, K=2)
    ref = knn_points_torch(p1.float(), p2.float(), l1, l2, K=2)
    assert dists.dtype == torch.bfloat16 and idx.shape == (1, 30, 2)
    assert (idx == ref.idx).float().mean() > 0.9


@pytest.mark.parametrize(
    "change, message",
    [
        (dict(p1=torch.zeros(2, 4, 3, dtype=torch.int64)), "p1 must be a float tensor"),
        (dict(p2=torch.zeros(2, 5, 2)), "must share N and D"),
        (dict(p2=torch.zeros(3, 5, 3)), "must share N and D"),
        (dict(p2=torch.zeros(2, 5, 3, dtype=torch.float64)), "one dtype"),
        (dict(lengths1=torch.tensor([1, 5])),
         r"lengths1 has values in \[1, 5\], expected them in \[0, 4\]"),
        (dict(lengths2=torch.tensor([-1, 2])), "lengths2 has values in"),
        (dict(lengths2=torch.tensor([1.0, 2.0])), "lengths2 must be an int64 tensor"),
        (dict(K=0), "K must be a positive int"),
        (dict(K=2.0), "K must be a positive int"),
        (dict(norm=3), "norm must be 1 or 2"),
        (dict(p1=torch.full((2, 4, 3), float("nan"))), "p1 contains NaN"),
        (dict(p2=torch.full((2, 5, 3), float("inf"))), "p2 contains NaN"),
    ],
)
@pytest.mark.parametrize("fn", [knn_points, knn_points_torch])
def test_bad_arguments(fn, change, message):
    args = dict(p1=torch.zeros(2, 4, 3), p2=torch.zeros(2, 5, 3), lengths1=None, lengths2=None)
    args.update(change)
    with pytest.raises(InputError, match=message):
        fn(**args)


def test_nan_in_padding_is_ignored():
    p1, p2, l1, l2 = random_clouds([3, 2], [4, 4], seed=10)
    p1[1, 2:] = float("nan")  # padding only
    assert knn_points(p1, p2, l1, l2).dists.isfinite().all()
