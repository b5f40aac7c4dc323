import pytest
import torch

from r3d.errors import InputError
from r3d.ops import packed_to_padded, padded_to_packed
from r3d.structures.packed_padded import packed_to_padded_torch, padded_to_packed_torch

LENGTHS = [5, 0, 1, 12, 0, 3]  # heterogeneous, with empty items


def _first_idxs(lengths, device):
    return torch.tensor([0] + lengths[:-1], device=device).cumsum(0)


def _loop_padded(packed, lengths, max_size):
    out = packed.new_zeros((len(lengths), max_size) + tuple(packed.shape[1:]))
    start = 0
    for b, n in enumerate(lengths):
        out[b, :n] = packed[start:start + n]
        start += n
    return out


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("feature_shape", [(), (1,), (4,), (2, 3)])
def test_packed_to_padded_matches_loop_and_torch(device, dtype, feature_shape):
    packed = torch.randn((sum(LENGTHS),) + feature_shape, dtype=dtype, device=device)
    first = _first_idxs(LENGTHS, device)
    padded = packed_to_padded(packed, first, 14)
    assert padded.shape == (len(LENGTHS), 14) + feature_shape
    torch.testing.assert_close(padded, _loop_padded(packed, LENGTHS, 14), rtol=0, atol=0)
    ref = packed_to_padded_torch(packed.reshape(packed.shape[0], -1), first, 14)
    torch.testing.assert_close(padded.reshape(ref.shape), ref, rtol=0, atol=0)
    back = padded_to_packed(padded, first, packed.shape[0])
    torch.testing.assert_close(back, packed, rtol=0, atol=0)
    ref_back = padded_to_packed_torch(padded.reshape(ref.shape), first, packed.shape[0])
    torch.testing.assert_close(back.reshape(ref_back.shape), ref_back, rtol=0, atol=0)


def test_padding_is_overwritten_not_leaked():
    # padded_to_packed must ignore whatever is stored past each item's end
    padded = torch.full((3, 4, 2), 7.0)
    first = torch.tensor([0, 2, 2])
    packed = padded_to_packed(padded, first, 5)
    assert packed.shape == (5, 2) and torch.all(packed == 7.0)
    again = packed_to_padded(packed, first, 4)
    assert torch.all(again[0, 2:] == 0) and torch.all(again[1] == 0)
    assert torch.all(again[2, 3:] == 0)


def test_gradients_are_each_others_inverse(device):
    first = _first_idxs(LENGTHS, device)
    packed = torch.randn(sum(LENGTHS), 3, dtype=torch.float64, device=device, requires_grad=True)
    assert torch.autograd.gradcheck(lambda x: packed_to_padded(x, first, 13), (packed,))
    padded = torch.randn(len(LENGTHS), 13, 3, dtype=torch.float64, device=device,
                         requires_grad=True)
    assert torch.autograd.gradcheck(lambda x: padded_to_packed(x, first, sum(LENGTHS)), (padded,))
    # double backward goes through the other op
    assert torch.autograd.gradgradcheck(lambda x: packed_to_padded(x, first, 13), (packed,))


def test_torch_path_gradients_match_native():
    first = _first_idxs(LENGTHS, "cpu")
    packed = torch.randn(sum(LENGTHS), 2, requires_grad=True)
    w = torch.randn(len(LENGTHS), 12, 2)
    (packed_to_padded(packed, first, 12) * w).sum().backward()
    g = packed.grad.clone()
    packed.grad = None
    (packed_to_padded_torch(packed, first, 12) * w).sum().backward()
    torch.testing.assert_close(g, packed.grad)


def test_empty_batch():
    out = packed_to_padded(torch.zeros(0, 3), torch.zeros(0, dtype=torch.int64), 0)
    assert out.shape == (0, 0, 3)
    out = padded_to_packed(torch.zeros(2, 0, 3), torch.zeros(2, dtype=torch.int64), 0)
    assert out.shape == (0, 3)


@pytest.mark.parametrize(
    "inputs, first, size, match",
    [
        (torch.zeros(5, 3), torch.tensor([0, 2]), 2, "longer than the padded size 2"),
        (torch.zeros(5, 3), torch.tensor([1, 2]), 4, "must start at 0"),
        (torch.zeros(5, 3), torch.tensor([0, 4, 2]), 4, "non-decreasing"),
        (torch.zeros(5, 3), torch.tensor([0, 6]), 6, "non-decreasing and at most"),
        (torch.zeros(5, 3), torch.tensor([0.0, 2.0]), 4, "first_idxs must be an int64"),
        (torch.zeros(5, 3), torch.tensor([[0, 2]]), 4, "first_idxs must be an int64"),
        (torch.zeros(5, 3, dtype=torch.int64), torch.tensor([0, 2]), 4, "floating-point"),
        (torch.zeros(()), torch.tensor([0, 2]), 4, "at least 1 dimension"),
        (torch.zeros(5, 3), torch.zeros(0, dtype=torch.int64), 4, "first_idxs is empty"),
    ],
)
def test_packed_to_padded_invalid(inputs, first, size, match):
    with pytest.raises(InputError, match=match):
        packed_to_padded(inputs, first, size)


def test_padded_to_packed_invalid():
    with pytest.raises(InputError, match="3 batch items but first_idxs has 2"):
        padded_to_packed(torch.zeros(3, 4, 2), torch.tensor([0, 2]), 4)
    with pytest.raises(InputError, match="than the padded size 4"):
        padded_to_packed(torch.zeros(2, 4, 2), torch.tensor([0, 2]), 8)
    with pytest.raises(InputError, match="one device"):
        padded_to_packed(torch.zeros(2, 4, 2), torch.tensor([0, 2], device="meta"), 4)
    for bad in (0, 3, -3, 1.0):
        with pytest.raises(InputError, match="max_size_dim must be an axis"):
            padded_to_packed(torch.zeros(2, 4, 2), torch.tensor([0, 2]), 4, max_size_dim=bad)


def test_padded_to_packed_max_size_dim():
    # item b's rows are padded[b, :, :len_b]: the padded axis is the last one
    padded = torch.arange(2 * 3 * 4, dtype=torch.float32).reshape(2, 3, 4)
    first = torch.tensor([0, 2])
    packed = padded_to_packed(padded, first, 5, max_size_dim=2)
    assert packed.shape == (5, 3)
    torch.testing.assert_close(packed, torch.cat([padded[0, :, :2].T, padded[1, :, :3].T]))
    torch.testing.assert_close(padded_to_packed(padded, first, 5, max_size_dim=-1), packed)
