// The launches of kernels over lists of tensors (ops/tensor_list.h: Adam,
// the finiteness count, the copies of many small tensors): their chunking and
// launch plans, host code shared by the kernels and the step's plan.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/error.h"
#include "gpu/launch_plan.h"
#include "ops/tensor_list.h"

namespace dmdlk::cuda_ops {

// A list's chunks: 256 threads of up to 8 elements a block, and enough blocks
// to fill an H200 twice over where the list has the elements for it.
constexpr int64_t kListThreads = 256, kListChunk = 8 * kListThreads, kListFillBlocks = 2 * 132;

// The launches of a list kernel over tensors of `sizes` elements
// (list_layouts: a block per chunk), `bytes_per_element` moved and
// `flops_per_element` done.
inline std::vector<cuda::LaunchPlan> plan_tensor_lists(const std::string& kernel, const std::vector<int64_t>& sizes,
                                                       double bytes_per_element, double flops_per_element,
                                                       int64_t chunk = kListChunk, int64_t step = kListThreads) {
  std::vector<cuda::LaunchPlan> plans;
  for (const ListLayout& l : list_layouts(sizes, chunk, step, kListFillBlocks)) {
    cuda::LaunchPlan& p = plans.emplace_back();
    p.kernel = kernel, p.grid.x = l.blocks, p.block.x = kListThreads;
    p.bytes = bytes_per_element * double(l.elements), p.flops = flops_per_element * double(l.elements);
  }
  return plans;
}

// The launch plans of `lists`, as `plan` (one of the plan_*_all above, of
// the lists' tensor sizes) makes them for the step's plan too; checked
// against the lists, since the kernels take their grids from the plans: a
// plan per list, a block per chunk.
template <class List, class Plan>
std::vector<cuda::LaunchPlan> list_plans(const std::vector<List>& lists, Plan plan) {
  std::vector<int64_t> sizes;
  for (const List& l : lists) sizes.insert(sizes.end(), l.size, l.size + l.count);
  std::vector<cuda::LaunchPlan> plans = plan(sizes);
  DMDLK_CHECK(plans.size() == lists.size(), ErrorCode::Internal, plans.size(), " plans for ", lists.size(), " lists");
  for (size_t i = 0; i < lists.size(); ++i)
    DMDLK_CHECK(plans[i].grid.x == lists[i].blocks(), ErrorCode::Internal, "list ", i, " has ", lists[i].blocks(),
                " chunks, its plan ", plans[i].grid.x, " blocks");
  return plans;
}

}  // namespace dmdlk::cuda_ops
