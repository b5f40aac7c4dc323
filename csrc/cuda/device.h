// Queries about the CUDA runtime that r3d was built with.
#pragma once

#include "common/macros.h"

namespace r3d {

// Number of CUDA devices visible to r3d's runtime; a Status error when none can be used.
Status cuda_device_count(int* count);
// The current CUDA device of this thread (shared with torch: both set the driver's current
// context).
Status cuda_get_device(int* index);
// Makes `index` the current CUDA device of this thread.
Status cuda_set_device(int index);
// The CUDA version the installed driver supports (e.g. 12040 for 12.4; 0 without a driver).
Status cuda_driver_version(int* version);
// Blocks until all work on the given stream is done (used by tests to surface kernel faults).
Status cuda_stream_synchronize(uintptr_t stream);

}  // namespace r3d
