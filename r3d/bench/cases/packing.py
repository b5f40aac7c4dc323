"""Benchmark cases of packed_to_padded (run by ``r3d bench``).

``packed_to_padded`` and ``..._fwd_bwd``: float32 (P, 3) packed rows cut into 16 segments of
different lengths (the size is P), padded to the longest; the backward variant takes the
gradient w.r.t. the packed rows from a random upstream gradient. Each case compares the public
op (native kernel on CPU and CUDA), its pure-PyTorch twin and PyTorch3D's op when PyTorch3D is
importable.
"""

from __future__ import annotations

import torch

from r3d.bench.cases._inputs import backward_of, forward_of
from r3d.bench.contenders import register_op_cases
from r3d.ops import packed_to_padded
from r3d.structures.packed_padded import packed_to_padded_torch

SIZES = (10_000, 100_000, 1_000_000)
QUICK_SIZES = (10_000,)
NUM_SEGMENTS = 16  # items in the batch
FEATURE_DIM = 3  # D


def segments(total: int, num: int, seed: int = 0) -> torch.Tensor:
    """(num,) int64 first_idxs cutting ``total`` rows into segments of different lengths
    (between about 0.2 and 1.8 times the mean)."""
    gen = torch.Generator().manual_seed(seed)
    weights = 0.2 + 1.6 * torch.rand(num, generator=gen, dtype=torch.float64)
    ends = torch.round(torch.cumsum(weights, 0) / weights.sum() * total).long()
    return torch.cat([ends.new_zeros(1), ends[:-1]])


def _p2p_forward(size: int, device: torch.device) -> dict:
    first = segments(size, NUM_SEGMENTS)
    lengths = torch.diff(first, append=first.new_tensor([size]))
    gen = torch.Generator().manual_seed(2)
    return {
        "inputs": torch.randn(size, FEATURE_DIM, generator=gen).to(device),
        "first_idxs": first.to(device),
        "max_size": int(lengths.max()),
    }


def _p2p_fwd_bwd(size: int, device: torch.device) -> dict:
    x = _p2p_forward(size, device)
    x["inputs"].requires_grad_(True)
    gen = torch.Generator().manual_seed(3)
    x["grad_out"] = torch.randn(NUM_SEGMENTS, x["max_size"], FEATURE_DIM, generator=gen).to(device)
    return x


_p2p_fwd = forward_of("inputs", "first_idxs", "max_size")
_p2p_bwd = backward_of(("inputs", "first_idxs", "max_size"), "inputs", ("grad_out",))


register_op_cases(
    "packed_to_padded",
    [
        ("", _p2p_forward, _p2p_fwd, "forward"),
        ("_fwd_bwd", _p2p_fwd_bwd, _p2p_bwd, "forward + backward"),
    ],
    native=packed_to_padded,
    torch_op=packed_to_padded_torch,
    pytorch3d="pytorch3d.ops.packed_to_padded",
    sizes=SIZES,
    quick_sizes=QUICK_SIZES,
    size_label="rows",
    description=f"packed_to_padded {{what}}, float32 (P, {FEATURE_DIM}) rows in "
    f"{NUM_SEGMENTS} segments of different lengths",
    segments=NUM_SEGMENTS,
    dim=FEATURE_DIM,
)
