import sys

import pytest
import torch

from r3d.errors import InputError
from r3d.ops import ball_query

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


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("K,radius", [(3, 0.5), (20, 0.5), (4, 2.0), (1, 0.05)])
def test_matches_brute_force(device, dtype, K, radius):
    p1, p2, lengths1, lengths2 = _batch(dtype, device)
    dists, idx, nn = ball_query(p1, p2, lengths1, lengths2, K=K, radius=radius)
    ref_d, ref_i, ref_nn = _brute_force(p1.cpu(), p2.cpu(), lengths1, lengths2, K, radius)
    assert idx.shape == dists.shape == (len(LENGTHS1), max(LENGTHS1), K)
    assert nn.shape == (len(LENGTHS1), max(LENGTHS1), K, 3)
    torch.testing.assert_close(idx.cpu(), ref_i, rtol=0, atol=0)
    torch.testing.assert_close(dists.cpu(), ref_d)
    torch.testing.assert_close(nn.cpu(), ref_nn)


def test_full_clouds_other_dims_and_no_nn():
    p1, p2, _, _ = _batch(torch.float64, "cpu", D=5, seed=1)
    dists, idx, nn = ball_query(p1, p2, K=6, radius=0.8, return_nn=False)
    assert nn is None
    full1 = torch.full((p1.shape[0],), p1.shape[1])
    full2 = torch.full((p2.shape[0],), p2.shape[1])
    ref_d, ref_i, _ = _brute_force(p1, p2, full1, full2, 6, 0.8)
    torch.testing.assert_close(idx, ref_i, rtol=0, atol=0)
    torch.testing.assert_close(dists, ref_d)


def test_chunked_search_matches(monkeypatch):
    p1, p2, lengths1, lengths2 = _batch(torch.float32, "cpu", seed=2)
    whole = ball_query(p1, p2, lengths1, lengths2, K=5, radius=0.6)
    monkeypatch.setattr(sys.modules["r3d.ops.ball_query"], "CHUNK_ELEMENTS", 7)
    chunked = ball_query(p1, p2, lengths1, lengths2, K=5, radius=0.6)
    for a, b in zip(whole, chunked):
        torch.testing.assert_close(a, b, rtol=0, atol=0)


def test_radius_is_strict():
    p1 = torch.zeros(1, 1, 3)
    p2 = torch.tensor([[[1.0, 0, 0], [0.5, 0, 0]]])
    _, idx, _ = ball_query(p1, p2, K=2, radius=1.0)
    assert idx.tolist() == [[[1, -1]]]


def test_gradcheck_dists_and_nn():
    p1, p2, lengths1, lengths2 = _batch(torch.float64, "cpu", seed=3)
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
