import pytest
import torch

from r3d.errors import InputError
from r3d.ops import GraphConv, gather_scatter
from r3d.ops.csr import group_by, group_by_torch, scatter_add_rows
from r3d.ops.graph_conv import gather_scatter_torch, graph_conv_torch
from r3d.utils import ico_sphere


def random_graph(num_verts, num_edges, dim, dtype=torch.float32, device="cpu", seed=0):
    """Features (V, D) and random edges (E, 2) that leave some vertices isolated."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(num_verts, dim, generator=g, dtype=torch.float64)
    used = max(1, num_verts - 3)  # the last vertices are in no edge
    edges = torch.randint(0, used, (num_edges, 2), generator=g)
    return x.to(dtype=dtype, device=device), edges.to(device)


def test_small_graph_by_hand():
    x = torch.tensor([[1.0, 2.0], [10.0, 20.0], [100.0, 200.0], [5.0, 5.0]])
    edges = torch.tensor([[0, 1], [0, 2], [1, 2]])
    undirected = torch.tensor([[110.0, 220.0], [101.0, 202.0], [11.0, 22.0], [0.0, 0.0]])
    directed = torch.tensor([[110.0, 220.0], [100.0, 200.0], [0.0, 0.0], [0.0, 0.0]])
    for fn in (gather_scatter, gather_scatter_torch):
        torch.testing.assert_close(fn(x, edges), undirected)
        torch.testing.assert_close(fn(x, edges, directed=True), directed)


@pytest.mark.parametrize("directed", [False, True])
@pytest.mark.parametrize("shape", [(50, 200, 7), (1, 0, 3), (0, 0, 4), (300, 1000, 1)])
def test_native_matches_torch(device, directed, shape):
    x, edges = random_graph(*shape, device=device, seed=shape[0])
    if shape[0] == 0:
        edges = edges[:0]
    x.requires_grad_(True)
    got = gather_scatter(x, edges, directed)
    ref = gather_scatter_torch(x, edges, directed)
    torch.testing.assert_close(got, ref)
    grad = torch.randn_like(got)
    (g_got,) = torch.autograd.grad(got, x, grad)
    (g_ref,) = torch.autograd.grad(ref, x, grad)
    torch.testing.assert_close(g_got, g_ref)


def test_repeated_edges_and_self_loops():
    x = torch.randn(4, 3)
    edges = torch.tensor([[0, 1], [0, 1], [2, 2], [3, 0]])
    for directed in (False, True):
        torch.testing.assert_close(
            gather_scatter(x, edges, directed), gather_scatter_torch(x, edges, directed)
        )


@pytest.mark.parametrize("directed", [False, True])
def test_gradcheck_float64(device, directed):
    x, edges = random_graph(12, 30, 3, dtype=torch.float64, device=device)
    x.requires_grad_(True)
    for fn in (gather_scatter, gather_scatter_torch):
        assert torch.autograd.gradcheck(lambda t, f=fn: f(t, edges, directed), (x,))
    assert torch.autograd.gradgradcheck(lambda t: gather_scatter(t, edges, directed), (x,))


def test_group_by_native_matches_torch():
    keys = torch.randint(0, 97, (5000,), generator=torch.Generator().manual_seed(1))
    for got, ref in zip(group_by(keys, 100), group_by_torch(keys, 100)):
        torch.testing.assert_close(got, ref, rtol=0, atol=0)
    values = torch.randn(5000, 3, dtype=torch.float64)
    ref = torch.zeros(100, 3, dtype=torch.float64).index_add_(0, keys, values)
    torch.testing.assert_close(scatter_add_rows(values, keys, 100), ref)


@pytest.mark.parametrize("directed", [False, True])
def test_graph_conv_module(device, directed):
    mesh = ico_sphere(2).to(device)
    verts, edges = mesh.verts_packed(), mesh.edges_packed()
    torch.manual_seed(0)
    conv = GraphConv(3, 5, directed=directed).to(device)
    out = conv(verts, edges)
    assert out.shape == (verts.shape[0], 5)
    torch.testing.assert_close(out, graph_conv_torch(conv, verts, edges))
    expected = conv.w0(verts) + gather_scatter_torch(conv.w1(verts), edges, directed)
    torch.testing.assert_close(out, expected)
    assert (conv.w0.bias == 0).all() and conv.w0.weight.std() < 0.05
    out.square().sum().backward()
    assert conv.w1.weight.grad is not None and conv.w1.weight.grad.abs().sum() > 0


def test_graph_conv_zero_init_and_empty_graph():
    conv = GraphConv(4, 2, init="zero")
    assert (conv.w0.weight == 0).all() and (conv.w1.weight == 0).all()
    verts = torch.zeros(0, 4, requires_grad=True)
    out = conv(verts, torch.zeros(0, 2, dtype=torch.int64))
    assert out.shape == (0, 2)
    out.sum().backward()
    assert "4 -> 2" in repr(conv)


def test_invalid_inputs_name_the_argument():
    x = torch.randn(5, 3)
    with pytest.raises(InputError, match="edges"):
        gather_scatter(x, torch.tensor([[0, 5]]))
    with pytest.raises(InputError, match="edges"):
        gather_scatter(x, torch.tensor([[0, 1]], dtype=torch.int32))
    with pytest.raises(InputError, match="edges"):
        gather_scatter(x, torch.tensor([0, 1]))
    with pytest.raises(InputError, match="input"):
        gather_scatter(torch.arange(5), torch.tensor([[0, 1]]))
    with pytest.raises(InputError, match="init"):
        GraphConv(3, 4, init="xavier")
    with pytest.raises(InputError, match="output_dim"):
        GraphConv(3, 0)
    with pytest.raises(InputError, match="verts"):
        GraphConv(3, 4)(torch.randn(5, 2), torch.tensor([[0, 1]]))
