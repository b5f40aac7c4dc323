// Transparent huge pages for the large outputs of the CPU launchers (Linux; nothing elsewhere).
//
// A freshly allocated output of tens of megabytes (a K = 50 rasterisation at 256 x 256 writes
// 78 MB) is mapped page by page as the launcher first writes it: a fault, and the kernel zeroing
// the page, every 4 KiB, which costs several times the writes themselves. Advising the range as
// huge-page backed (MADV_HUGEPAGE, as PyTorch's CPU allocator does when THP_MEM_ALLOC_ENABLE is
// set) makes that a fault every 2 MiB where the system allows transparent huge pages ("always" or
// "madvise"). Only the 2 MiB-aligned part inside the buffer is advised, so no other allocation's
// memory is touched; pages already mapped stay as they are; the advice is a hint whose failure
// changes nothing.
#pragma once

#include <cstddef>
#include <cstdint>

#if defined(__linux__)
#include <sys/mman.h>
#endif

namespace r3d {

// Buffers below this size are not worth a system call.
constexpr size_t kHugePageMinBytes = size_t{8} << 20;

// Advises the 2 MiB-aligned pages inside [data, data + bytes) as huge-page backed.
inline void advise_huge_pages(void* data, size_t bytes) {
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  constexpr uintptr_t kHuge = uintptr_t{1} << 21;
  if (bytes < kHugePageMinBytes) return;
  const uintptr_t begin = (reinterpret_cast<uintptr_t>(data) + kHuge - 1) & ~(kHuge - 1);
  const uintptr_t end = (reinterpret_cast<uintptr_t>(data) + bytes) & ~(kHuge - 1);
  if (end > begin) madvise(reinterpret_cast<void*>(begin), end - begin, MADV_HUGEPAGE);
#else
  (void)data, (void)bytes;
#endif
}

}  // namespace r3d
