"""A CPU stand-in for ``torch.cuda.set_sync_debug_mode("error")``: records the calls that would
make the host wait for a CUDA device (reading a value, an output size that depends on values)."""

from __future__ import annotations

import traceback

import torch
from torch.overrides import TorchFunctionMode

# reading tensor values on the host
READS = {"__bool__", "__int__", "__float__", "__index__", "item", "tolist", "numpy", "allclose",
         "equal"}
# outputs whose size depends on the values (the device reports the size to the host)
SIZED_BY_VALUES = {"nonzero", "argwhere", "unique", "unique_consecutive", "masked_select",
                   "bincount"}
# tensors made from host data (on a GPU: a copy from pageable memory, which waits for the
# device, and which a CUDA graph cannot capture)
FROM_HOST = {"tensor", "new_tensor", "as_tensor"}


def _bool_index(index) -> bool:
    items = index if isinstance(index, tuple) else (index,)
    return any(isinstance(i, torch.Tensor) and i.dtype == torch.bool for i in items)


class HostReads(TorchFunctionMode):
    """Within the block, ``found`` lists (call, r3d source line) for every such call made from
    r3d's code."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, str]] = []

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        name = getattr(func, "__name__", "")
        if (name in READS or name in SIZED_BY_VALUES or name in FROM_HOST
                or (name == "repeat_interleave" and "output_size" not in kwargs
                    and isinstance(args[-1] if len(args) > 1 else kwargs.get("repeats"),
                                   torch.Tensor))
                or (name == "__getitem__" and _bool_index(args[1]))
                or (name == "where" and len(args) + len(kwargs) == 1)):
            frames = [f for f in traceback.extract_stack()[:-1] if "/r3d/" in f.filename]
            if frames:
                where = frames[-1]
                self.found.append((name, f"{where.filename.split('/r3d/')[-1]}:{where.lineno}"))
        return func(*args, **kwargs)
