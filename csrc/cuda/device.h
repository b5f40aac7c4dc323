// Queries about the CUDA runtime that r3d was built with.
#pragma once

#include "common/macros.h"

namespace r3d {

// Number of CUDA devices visible to r3d's runtime; a Status error when none can be used.
Status cuda_device_count(int* count);
// Makes `index` the current device of r3d's CUDA runtime on this thread (it keeps its own
// current device, separate from torch's).
Status cuda_set_device(int index);
// Blocks until all work on the given stream is done (used by tests to surface kernel faults).
Status cuda_stream_synchronize(uintptr_t stream);

}  // namespace r3d
