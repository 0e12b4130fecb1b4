// Losses: the sums over every pixel in two stages (chunks of pixels, then one
// block adding the chunks in order: deterministic, the scalar stays on the
// device); per-pixel gradients one thread per pixel.
#include <cub/block/block_reduce.cuh>

#include "cuda_check.cuh"
#include "gpu/losses.h"
#include "ops/backend.h"

namespace dmdlk::cuda_ops {

namespace {

using Block = cub::BlockReduce<double, int(kLossThreads)>;

// This block's chunk of the pixels (a 32-bit division: the pixels are fewer
// than 2^31, checked in loss_scratch).
struct PixelChunk {
  int64_t begin, end;
  __device__ PixelChunk(int64_t pixels) {
    int64_t per = uint32_t(pixels + gridDim.x - 1) / gridDim.x;
    begin = blockIdx.x * per;
    end = begin + per < pixels ? begin + per : pixels;
  }
};

template <typename T>
__global__ void __launch_bounds__(kLossThreads)
    ce_chunks_kernel(LossLayout l, const T* logits, const int32_t* targets, double* pieces) {
  __shared__ Block::TempStorage scratch;
  const PixelChunk r(l.pixels());
  double sum = 0;
  for (int64_t i = r.begin + threadIdx.x; i < r.end; i += kLossThreads) sum += double(pixel_nll(l, logits, targets, i));
  sum = Block(scratch).Sum(sum);
  if (threadIdx.x == 0) pieces[blockIdx.x] = sum;
}

// One block adding every chunk's `values` sums; value v's total to totals[v]
// (plus one from v = plus_one_from on: Dice's smoothing of its denominators).
__global__ void __launch_bounds__(kLossThreads)
    sum_chunks_kernel(int64_t chunks, int64_t values, int64_t plus_one_from, const double* pieces, double* totals) {
  __shared__ Block::TempStorage scratch;
  for (int64_t v = 0; v < values; ++v) {
    double sum = 0;
    for (int64_t c = threadIdx.x; c < chunks; c += kLossThreads) sum += pieces[c * values + v];
    sum = Block(scratch).Sum(sum);
    if (threadIdx.x == 0) totals[v] = sum + (v >= plus_one_from ? 1.0 : 0.0);
    __syncthreads();  // the scratch is reused for the next value
  }
}

template <typename T>
__global__ void ce_loss_kernel(LossLayout l, const double* total, T* loss) {
  *loss = T(*total / double(l.pixels()));
}

template <typename T>
__global__ void ce_backward_kernel(LossLayout l, const T* logits, const int32_t* targets, const T* dloss, T* dlogits) {
  T scale = *dloss / T(l.pixels());
  DMDLK_GRID_LOOP(i, l.pixels()) {
    T m, s;
    pixel_softmax_terms(l, logits, i, &m, &s);
    int32_t t = targets[i];
    T invalid = (t < 0 || t >= l.classes) ? T(NAN) : T(0);
    for (int64_t k = 0; k < l.classes; ++k)
      dlogits[l.at(i, k)] = scale * (exp_value(logits[l.at(i, k)] - m) / s - (t == k ? T(1) : T(0))) + invalid;
  }
}

// This chunk's Σ p_k t_k and Σ p_k + Σ t_k of every class k, into
// pieces[chunk][k] and [K + k] (the layout dice_pixel_grad reads the totals in).
template <typename T>
__global__ void __launch_bounds__(kLossThreads)
    dice_chunks_kernel(LossLayout l, const T* logits, const int32_t* targets, double* pieces) {
  __shared__ Block::TempStorage scratch;
  const PixelChunk r(l.pixels());
  for (int64_t k = 0; k < l.classes; ++k) {
    double inter = 0, total = 0;
    for (int64_t i = r.begin + threadIdx.x; i < r.end; i += kLossThreads) {
      T m, s;
      pixel_softmax_terms(l, logits, i, &m, &s);
      double p = double(exp_value(logits[l.at(i, k)] - m) / s);
      int32_t t = targets[i];
      double hit = t == k ? 1.0 : 0.0;
      if (t < 0 || t >= l.classes) hit = NAN;
      inter += p * hit;
      total += p + hit;
    }
    inter = Block(scratch).Sum(inter);
    __syncthreads();
    total = Block(scratch).Sum(total);
    __syncthreads();
    if (threadIdx.x == 0) {
      double* out = pieces + blockIdx.x * 2 * l.classes;
      out[k] = inter, out[l.classes + k] = total;
    }
  }
}

template <typename T>
__global__ void dice_loss_kernel(LossLayout l, const double* sums, T* loss) {
  double mean = 0;
  for (int64_t k = 1; k < l.classes; ++k) mean += (2 * sums[k] + 1) / sums[l.classes + k];
  *loss = T(1 - mean / double(l.classes - 1));
}

template <typename T>
__global__ void dice_backward_kernel(LossLayout l, const T* logits, const int32_t* targets, const double* sums,
                                     const T* dloss, T* dlogits) {
  double scale = double(*dloss) / double(l.classes - 1);
  DMDLK_GRID_LOOP(i, l.pixels()) dice_pixel_grad(l, logits, targets, sums, sums + l.classes, scale, i, dlogits);
}

// Scratch for a loss's chunk sums (`values` per chunk) and their `values` totals.
Tensor loss_scratch(int device, const LossLayout& l, int64_t values) {
  check_fits_32_bits(l.pixels(), "losses: pixels:");  // PixelChunk's division
  return Tensor::empty({(loss_chunks(l) + 1) * values}, DType::F64, Device::cuda(device));
}

// Dice's class sums into the scratch's totals: inter[0..K), total + 1 in [K..2K).
template <typename T>
const double* dice_class_sums(int device, const LossLayout& l, const T* logits, const int32_t* targets,
                              const std::vector<LaunchPlan>& plans, Tensor& scratch) {
  int64_t values = 2 * l.classes, chunks = loss_chunks(l);
  double *pieces = scratch.data<double>(), *totals = pieces + chunks * values;
  launch(device, plans[0], dice_chunks_kernel<T>, l, logits, targets, pieces);
  launch(device, plans[1], sum_chunks_kernel, chunks, values, l.classes, static_cast<const double*>(pieces), totals);
  return totals;
}

}  // namespace

template <typename T>
void cross_entropy_forward(int device, const LossLayout& l, const T* logits, const int32_t* targets, T* loss) {
  std::vector<LaunchPlan> plans = plan_cross_entropy_forward(l, sizeof(T));
  int64_t chunks = loss_chunks(l);
  Tensor scratch = loss_scratch(device, l, 1);
  double *pieces = scratch.data<double>(), *total = pieces + chunks;
  launch(device, plans[0], ce_chunks_kernel<T>, l, logits, targets, pieces);
  launch(device, plans[1], sum_chunks_kernel, chunks, int64_t(1), int64_t(1), static_cast<const double*>(pieces),
         total);
  launch(device, plans[2], ce_loss_kernel<T>, l, static_cast<const double*>(total), loss);
}

template <typename T>
void cross_entropy_backward(int device, const LossLayout& l, const T* logits, const int32_t* targets, const T* dloss,
                            T* dlogits) {
  launch(device, plan_cross_entropy_backward(l, sizeof(T)), ce_backward_kernel<T>, l, logits, targets, dloss, dlogits);
}

template <typename T>
void dice_forward(int device, const LossLayout& l, const T* logits, const int32_t* targets, T* loss) {
  std::vector<LaunchPlan> plans = plan_dice_sums(l, sizeof(T));
  Tensor scratch = loss_scratch(device, l, 2 * l.classes);
  const double* sums = dice_class_sums(device, l, logits, targets, plans, scratch);
  launch(device, plan_dice_loss(l), dice_loss_kernel<T>, l, sums, loss);
}

template <typename T>
void dice_backward(int device, const LossLayout& l, const T* logits, const int32_t* targets, const T* dloss,
                   T* dlogits) {
  std::vector<LaunchPlan> plans = plan_dice_sums(l, sizeof(T));
  Tensor scratch = loss_scratch(device, l, 2 * l.classes);
  const double* sums = dice_class_sums(device, l, logits, targets, plans, scratch);
  launch(device, plan_dice_backward(l, sizeof(T)), dice_backward_kernel<T>, l, logits, targets, sums, dloss, dlogits);
}

#define INSTANTIATE(T)                                                                                     \
  template void cross_entropy_forward<T>(int, const LossLayout&, const T*, const int32_t*, T*);            \
  template void cross_entropy_backward<T>(int, const LossLayout&, const T*, const int32_t*, const T*, T*); \
  template void dice_forward<T>(int, const LossLayout&, const T*, const int32_t*, T*);                     \
  template void dice_backward<T>(int, const LossLayout&, const T*, const int32_t*, const T*, T*);
DMDLK_INSTANTIATE_FLOATING(INSTANTIATE)

}  // namespace dmdlk::cuda_ops
