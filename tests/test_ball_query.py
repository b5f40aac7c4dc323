"""ball_query: the native kernels (CPU grid, CUDA grid and its schedule emulated on the host,
brute force for D != 3) against plain loops and the pure-PyTorch twin, gradients, errors."""

import sys

import pytest
import torch

from r3d._native import ball_query as bridge
from r3d._native import knn as knn_bridge
from r3d._native import torch_only
from r3d.errors import InputError
from r3d.ops import ball_query
from r3d.ops.ball_query import ball_query_torch

LENGTHS1 = [6, 0, 9, 4, 5]
LENGTHS2 = [11, 7, 0, 3, 12]  # empty clouds on either side


def _batch(dtype, device, D=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    N = len(LENGTHS1)
    # Padding rows hold random values too: they must be ignored.
    p1 = torch.rand(N, max(LENGTHS1), D, generator=g, dtype=torch.float64)
    p2 = torch.rand(N, max(LENGTHS2), D, generator=g, dtype=torch.float64)
    lengths1 = torch.tensor(LENGTHS1, device=device)
    lengths2 = torch.tensor(LENGTHS2, device=device)
    return p1.to(dtype=dtype, device=device), p2.to(dtype=dtype, device=device), lengths1, lengths2


def _brute_force(p1, p2, lengths1, lengths2, K, radius):
    N, P1, D = p1.shape
    idx = torch.full((N, P1, K), -1, dtype=torch.int64)
    dists = torch.zeros((N, P1, K), dtype=p1.dtype)
    nn = torch.zeros((N, P1, K, D), dtype=p1.dtype)
    for n in range(N):
        for i in range(int(lengths1[n])):
            count = 0
            for j in range(int(lengths2[n])):
                if count == K:
                    break
                d = ((p1[n, i] - p2[n, j]) ** 2).sum()
                if d < radius * radius:
                    idx[n, i, count], dists[n, i, count], nn[n, i, count] = j, d, p2[n, j]
                    count += 1
    return dists, idx, nn


@pytest.mark.parametrize("twin", [False, True])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("K,radius", [(3, 0.5), (20, 0.5), (4, 2.0), (1, 0.05)])
def test_matches_brute_force(device, dtype, K, radius, twin):
    p1, p2, lengths1, lengths2 = _batch(dtype, device)
    if twin:
        with torch_only():
            dists, idx, nn = ball_query(p1, p2, lengths1, lengths2, K=K, radius=radius)
    else:
        dists, idx, nn = ball_query(p1, p2, lengths1, lengths2, K=K, radius=radius)
    ref_d, ref_i, ref_nn = _brute_force(p1.cpu(), p2.cpu(), lengths1, lengths2, K, radius)
    assert idx.shape == dists.shape == (len(LENGTHS1), max(LENGTHS1), K)
    assert nn.shape == (len(LENGTHS1), max(LENGTHS1), K, 3)
    torch.testing.assert_close(idx.cpu(), ref_i, rtol=0, atol=0)
    torch.testing.assert_close(dists.cpu(), ref_d)
    torch.testing.assert_close(nn.cpu(), ref_nn)


def test_full_clouds_other_dims_and_no_nn(device):
    p1, p2, _, _ = _batch(torch.float64, device, D=5, seed=1)
    dists, idx, nn = ball_query(p1, p2, K=6, radius=0.8, return_nn=False)
    assert nn is None
    full1 = torch.full((p1.shape[0],), p1.shape[1])
    full2 = torch.full((p2.shape[0],), p2.shape[1])
    ref_d, ref_i, _ = _brute_force(p1.cpu(), p2.cpu(), full1, full2, 6, 0.8)
    torch.testing.assert_close(idx.cpu(), ref_i, rtol=0, atol=0)
    torch.testing.assert_close(dists.cpu(), ref_d)


def test_chunked_search_matches(monkeypatch):
    p1, p2, lengths1, lengths2 = _batch(torch.float32, "cpu", seed=2)
    whole = ball_query_torch(p1, p2, lengths1, lengths2, K=5, radius=0.6)
    monkeypatch.setattr(sys.modules["r3d.ops.ball_query"], "CHUNK_ELEMENTS", 7)
    chunked = ball_query_torch(p1, p2, lengths1, lengths2, K=5, radius=0.6)
    for a, b in zip(whole, chunked):
        torch.testing.assert_close(a, b, rtol=0, atol=0)


def test_radius_is_strict(device):
    p1 = torch.zeros(1, 1, 3, device=device)
    p2 = torch.tensor([[[1.0, 0, 0], [0.5, 0, 0]]], device=device)
    _, idx, _ = ball_query(p1, p2, K=2, radius=1.0)
    assert idx.tolist() == [[[1, -1]]]


@pytest.mark.parametrize("D", [3, 2])
def test_gradcheck_dists_and_nn(device, D):
    p1, p2, lengths1, lengths2 = _batch(torch.float64, device, D=D, seed=3)
    p1.requires_grad_(True)
    p2.requires_grad_(True)

    def f(a, b):
        dists, _, nn = ball_query(a, b, lengths1, lengths2, K=4, radius=0.6)
        return dists, nn

    assert torch.autograd.gradcheck(f, (p1, p2))


@pytest.mark.parametrize(
    "kwargs,name",
    [
        ({"K": 0}, "K"),
        ({"K": -2}, "K"),
        ({"K": 2.5}, "K"),
        ({"radius": 0.0}, "radius"),
        ({"radius": -1.0}, "radius"),
        ({"radius": float("nan")}, "radius"),
    ],
)
def test_invalid_arguments(kwargs, name):
    p1, p2, _, _ = _batch(torch.float32, "cpu")
    with pytest.raises(InputError, match=name):
        ball_query(p1, p2, **kwargs)


def test_invalid_inputs():
    p1, p2, lengths1, lengths2 = _batch(torch.float32, "cpu")
    bad = p1.clone()
    bad[0, 0, 1] = float("nan")
    with pytest.raises(InputError, match="p1"):
        ball_query(bad, p2)
    with pytest.raises(InputError, match="p2"):
        ball_query(p1, p2[0])
    with pytest.raises(InputError, match="p1 and p2"):
        ball_query(p1, p2[..., :2])
    with pytest.raises(InputError, match="lengths2"):
        ball_query(p1, p2, lengths1, lengths2 + 100)
    # NaN in padding rows is ignored.
    bad = p1.clone()
    bad[1, 0] = float("nan")
    ball_query(bad, p2, lengths1, lengths2)


def _clouds(lengths1, lengths2, D, dtype, device, seed, kind="uniform"):
    """Padded query and searched clouds with garbage (large values) in the padding rows.
    kind: "uniform" (unit cube), "lattice" (multiples of 0.25: distances exactly equal to
    radii such as 0.25 and 0.5, points on cell borders), "clustered" (most points in a few
    tiny clusters: crowded cells), "offset" (a unit cube far from the origin, 1000 + [0, 1))."""
    g = torch.Generator().manual_seed(seed)
    N = len(lengths1)
    P1, P2 = max(lengths1, default=0) + 1, max(lengths2, default=0) + 1
    if kind == "lattice":
        p1 = torch.randint(0, 5, (N, P1, D), generator=g) * 0.25
        p2 = torch.randint(0, 5, (N, P2, D), generator=g) * 0.25
    else:
        p1 = torch.rand(N, P1, D, generator=g, dtype=torch.float64)
        p2 = torch.rand(N, P2, D, generator=g, dtype=torch.float64)
    if kind == "clustered":
        centres = torch.rand(N, 3, D, generator=g, dtype=torch.float64)
        which = torch.randint(0, 3, (N, P2), generator=g)
        near = torch.gather(centres, 1, which[..., None].expand(N, P2, D))
        p2 = torch.where(torch.rand(N, P2, 1, generator=g) < 0.8, near + 1e-3 * p2, p2)
    if kind == "offset":
        p1, p2 = p1 + 1000, p2 + 1000
    p1, p2 = p1.to(torch.float64).clone(), p2.to(torch.float64).clone()
    for n in range(N):
        p1[n, lengths1[n]:] = -1e3
        p2[n, lengths2[n]:] = 1e3
    return (p1.to(dtype=dtype, device=device), p2.to(dtype=dtype, device=device),
            torch.tensor(lengths1, device=device), torch.tensor(lengths2, device=device))


BATCHES = [
    ([40, 0, 25, 7, 60], [50, 30, 0, 1, 300]),  # empty clouds on either side
    ([500], [2000]),
    ([0, 0], [0, 4]),
]
# (K, radius): small and large K, a radius wider than the clouds, one tiny against them
SEARCHES = [(1, 0.25), (16, 0.25), (40, 0.5), (5, 3.0), (8, 1e-3)]


@pytest.mark.parametrize("kind", ["uniform", "lattice", "clustered", "offset"])
@pytest.mark.parametrize("D", [2, 3, 5])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("batch", range(len(BATCHES)))
def test_native_matches_twin(device, batch, dtype, D, kind):
    lengths1, lengths2 = BATCHES[batch]
    p1, p2, l1, l2 = _clouds(lengths1, lengths2, D, dtype, device, seed=batch + D, kind=kind)
    for K, radius in SEARCHES:
        got = ball_query(p1, p2, l1, l2, K=K, radius=radius)
        want = ball_query_torch(p1, p2, l1, l2, K=K, radius=radius)
        assert torch.equal(got.idx, want.idx), (K, radius)
        assert torch.equal(got.knn, want.knn)
        # the kernels add the squares in order of the coordinates, as torch's sum does for up
        # to 3 of them (for more it may add them in another order)
        if D <= 3:
            assert torch.equal(got.dists, want.dists)
        else:
            torch.testing.assert_close(got.dists, want.dists)


@pytest.mark.parametrize("kind", ["uniform", "lattice", "clustered", "offset"])
@pytest.mark.parametrize("D", [3, 4])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_emulated_cuda_matches_cpu(dtype, D, kind):
    for batch, (lengths1, lengths2) in enumerate(BATCHES):
        p1, p2, l1, l2 = _clouds(lengths1, lengths2, D, dtype, "cpu", seed=batch, kind=kind)
        for K, radius in SEARCHES:
            cpu = bridge.ball_query_forward(p1, p2, l1, l2, K, radius)
            emulated = bridge.ball_query_forward(p1, p2, l1, l2, K, radius, emulate_cuda=True)
            assert torch.equal(cpu[0], emulated[0]) and torch.equal(cpu[1], emulated[1])


def test_crowded_cell_takes_the_first_points():
    """Every point in one cell (all within the radius): the first K in index order."""
    p2 = torch.rand(1, 5000, 3, generator=torch.Generator().manual_seed(1)) * 1e-3
    p1 = torch.zeros(1, 3, 3)
    _, idx, _ = ball_query(p1, p2, K=7, radius=0.5)
    assert idx.tolist() == [[list(range(7))] * 3]


def test_bridge_rejects_bad_inputs():
    p1, p2, l1, l2 = _clouds([4, 2], [5, 3], 3, torch.float32, "cpu", seed=0)
    with pytest.raises(InputError, match="radius must be a positive finite number"):
        bridge.ball_query_forward(p1, p2, l1, l2, 3, float("inf"))
    with pytest.raises(InputError, match="K must be a positive int"):
        bridge.ball_query_forward(p1, p2, l1, l2, 0, 0.5)
    with pytest.raises(InputError, match="lengths2 has values"):
        bridge.ball_query_forward(p1, p2, l1, l2 + 10, 3, 0.5)
    with pytest.raises(InputError, match="p2 must have dtype torch.float32"):
        bridge.ball_query_forward(p1, p2.double(), l1, l2, 3, 0.5)
    with pytest.raises(InputError, match=r"p2 must have shape \(2, \*, 3\)"):
        bridge.ball_query_forward(p1, p2[..., :2], l1, l2, 3, 0.5)
    dists, idx = bridge.ball_query_forward(p1, p2, l1, l2, 3, 0.5)
    with pytest.raises(InputError, match=r"idx has values in \[9, 9\], expected them in "
                                         r"\[-1, 5\]"):
        knn_bridge.knn_points_backward(p1, p2, l1, l2, idx.clone().fill_(9), dists, 2)
