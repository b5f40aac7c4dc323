// The schedule of the CUDA point <-> mesh forward (bodies in lbvh.h), written once for an
// executor that runs its steps: CudaExec (point_mesh_cuda.cu) as kernels and cub calls on a
// stream, HostExec (point_mesh_emulate_cpu.cpp) on the host, for tests without a GPU.
//
// An executor Exec provides
//   template <typename U> Array        a buffer: get() -> U*, swap(Array&)
//   allocate(Array<U>&, n)             n values (contents undefined)
//   fill_bytes(Array<U>&, n, byte)     every byte of the first n values set to byte
//   run(n, body)                       body(i) for i in [0, n), in any order and at once
//   run_searches(n, body)              the same for the searches (the bulk of the work)
//   reduce_boxes(boxes, first, ends, N, out)
//                                      out[n] = merge of boxes[first[n] .. ends[n]), empty_box
//                                      for an empty item
//   sort_pairs(keys, values, n, end_bit)
//                                      sorts the n (key, value) pairs by the key's bits
//                                      [0, end_bit), stably (ties keep their order)
// each returning a Status.
#pragma once

#include <cstdint>
#include <limits>

#include "common/macros.h"
#include "point_mesh/lbvh.h"
#include "point_mesh/point_mesh.h"

namespace r3d {

template <typename Exec, typename U>
using ExecArray = typename Exec::template Array<U>;

// The bits of the sort keys of N items: the Morton code's and those of the item (N - 1 at most).
inline int lbvh_key_bits(int64_t N) {
  int bits = kMortonBits;
  for (int64_t v = N - 1; v > 0; v >>= 1) ++bits;
  return bits;
}

// Sorts a packed set of n elements of K corners (at coords; items cut by first (N,)) by item and
// Morton code of their boxes' centres in their item's box, ties by index. Fills boxes (n,) with
// the elements' boxes (element order), keys (n,) with the sorted keys and values (n,) with the
// sorted element indices.
template <int K, typename T, typename Exec>
Status lbvh_sort(Exec& exec, const T* coords, const int64_t* first, int64_t N, int64_t n,
                 ExecArray<Exec, Box<T>>& boxes, ExecArray<Exec, uint64_t>& keys,
                 ExecArray<Exec, int32_t>& values) {
  ExecArray<Exec, int64_t> ends;
  ExecArray<Exec, Box<T>> item_boxes;
  R3D_TRY(exec.allocate(boxes, n));
  R3D_TRY(exec.allocate(keys, n));
  R3D_TRY(exec.allocate(values, n));
  if (n == 0) return Status::ok();
  R3D_TRY(exec.allocate(ends, N));
  R3D_TRY(exec.allocate(item_boxes, N));
  R3D_TRY(exec.run(N, ItemEnds{first, N, n, ends.get()}));
  R3D_TRY(exec.run(n, ElementBoxes<T, K>{coords, boxes.get()}));
  R3D_TRY(exec.reduce_boxes(boxes.get(), first, ends.get(), N, item_boxes.get()));
  R3D_TRY(exec.run(n, MortonKeys<T>{first, N, boxes.get(), item_boxes.get(), keys.get(),
                                    values.get()}));
  return exec.sort_pairs(keys, values, n, lbvh_key_bits(N));
}

// The forward of f (a NearestForward of point_mesh.h): a tree per item over the candidates, the
// queries sorted in Morton order, a search per query.
template <typename Exec, typename Forward>
Status lbvh_nearest(Exec& exec, const Forward& f) {
  using T = typename Forward::Scalar;
  const int64_t N = f.a.num_items, E = f.num_candidates(), Q = f.num_queries();
  constexpr int64_t kMax = std::numeric_limits<int32_t>::max();  // 32-bit node and element ids
  if (E > kMax || Q > kMax)
    return Status::error("point_mesh on CUDA: more than 2^31 - 1 points or primitives");
  if (Q == 0) return Status::ok();
  ExecArray<Exec, LbvhNode<T>> nodes;
  ExecArray<Exec, int32_t> elems, order;
  {
    ExecArray<Exec, Box<T>> boxes;
    ExecArray<Exec, uint64_t> keys;
    ExecArray<Exec, int32_t> parent, flags;
    R3D_TRY(lbvh_sort<Forward::kCandidateCorners>(exec, f.candidates(), f.c_first(), N, E, boxes,
                                                  keys, elems));
    R3D_TRY(exec.allocate(nodes, E));
    R3D_TRY(exec.allocate(parent, 2 * E));
    R3D_TRY(exec.allocate(flags, E));
    R3D_TRY(exec.fill_bytes(parent, 2 * E, 0xff));  // -1: no parent (lone elements)
    R3D_TRY(exec.fill_bytes(flags, E, 0));
    R3D_TRY(exec.run(E, LbvhConstruct<T>{f.c_first(), N, E, keys.get(), nodes.get(),
                                         parent.get()}));
    R3D_TRY(exec.run(E, LbvhRefit<T>{E, elems.get(), boxes.get(), nodes.get(), parent.get(),
                                     flags.get()}));
  }
  {
    ExecArray<Exec, Box<T>> boxes;
    ExecArray<Exec, uint64_t> keys;
    R3D_TRY(lbvh_sort<Forward::kQueryCorners>(exec, f.queries(), f.q_first(), N, Q, boxes, keys,
                                              order));
  }
  return exec.run_searches(Q, LbvhNearest<Forward>{f, nodes.get(), elems.get(), order.get()});
}

}  // namespace r3d
