// Losses: the sums over every pixel run in one block of 1024 threads (each
// thread strides over the pixels, then a tree reduction), which keeps them
// deterministic and leaves the scalar on the device; per-pixel gradients run
// one thread per pixel. The sums take about a millisecond at batch 4, 448².
#include "block_reduce.cuh"
#include "cuda/losses.cuh"
#include "cuda_check.cuh"
#include "ops/backend.h"

namespace dmdlk::cuda_ops {

namespace {

template <typename T>
__global__ void ce_forward_kernel(LossLayout l, const T* logits, const int32_t* targets, T* loss) {
  double sum = 0;
  for (int64_t i = threadIdx.x; i < l.pixels(); i += kLossReduceThreads)
    sum += double(pixel_nll(l, logits, targets, i));
  sum = block_sum(sum);
  if (threadIdx.x == 0) *loss = T(sum / double(l.pixels()));
}

template <typename T>
__global__ void ce_backward_kernel(LossLayout l, const T* logits, const int32_t* targets, const T* dloss, T* dlogits) {
  T scale = *dloss / T(l.pixels());
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < l.pixels();
       i += int64_t(gridDim.x) * blockDim.x) {
    T m, s;
    pixel_softmax_terms(l, logits, i, &m, &s);
    int32_t t = targets[i];
    T invalid = (t < 0 || t >= l.classes) ? T(NAN) : T(0);
    for (int64_t k = 0; k < l.classes; ++k)
      dlogits[l.at(i, k)] = scale * (exp_value(logits[l.at(i, k)] - m) / s - (t == k ? T(1) : T(0))) + invalid;
  }
}

// inter[k] = Σ p_k t_k and total[k] = Σ p_k + Σ t_k + 1 for every class, into sums[0..2K).
template <typename T>
__global__ void dice_sums_kernel(LossLayout l, const T* logits, const int32_t* targets, double* sums) {
  for (int64_t k = 0; k < l.classes; ++k) {
    double inter = 0, total = 0;
    for (int64_t i = threadIdx.x; i < l.pixels(); i += kLossReduceThreads) {
      T m, s;
      pixel_softmax_terms(l, logits, i, &m, &s);
      double p = double(exp_value(logits[l.at(i, k)] - m) / s);
      int32_t t = targets[i];
      double hit = t == k ? 1.0 : 0.0;
      if (t < 0 || t >= l.classes) hit = NAN;
      inter += p * hit;
      total += p + hit;
    }
    inter = block_sum(inter);
    total = block_sum(total);
    if (threadIdx.x == 0) sums[k] = inter, sums[l.classes + k] = total + 1;
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
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < l.pixels(); i += int64_t(gridDim.x) * blockDim.x)
    dice_pixel_grad(l, logits, targets, sums, sums + l.classes, scale, i, dlogits);
}

// Scratch for the class sums: a small tensor from the caching allocator.
Tensor dice_sums(int device, const LossLayout& l) {
  return Tensor::empty({2 * l.classes}, DType::F64, Device::cuda(device));
}

}  // namespace

template <typename T>
void cross_entropy_forward(int device, const LossLayout& l, const T* logits, const int32_t* targets, T* loss) {
  launch(device, plan_cross_entropy_forward(l, sizeof(T)), ce_forward_kernel<T>, l, logits, targets, loss);
}

template <typename T>
void cross_entropy_backward(int device, const LossLayout& l, const T* logits, const int32_t* targets, const T* dloss,
                            T* dlogits) {
  launch(device, plan_cross_entropy_backward(l, sizeof(T)), ce_backward_kernel<T>, l, logits, targets, dloss, dlogits);
}

template <typename T>
void dice_forward(int device, const LossLayout& l, const T* logits, const int32_t* targets, T* loss) {
  Tensor sums = dice_sums(device, l);
  launch(device, plan_dice_sums(l, sizeof(T)), dice_sums_kernel<T>, l, logits, targets, sums.data<double>());
  launch(device, plan_dice_loss(l), dice_loss_kernel<T>, l, static_cast<const double*>(sums.data<double>()), loss);
}

template <typename T>
void dice_backward(int device, const LossLayout& l, const T* logits, const int32_t* targets, const T* dloss,
                   T* dlogits) {
  Tensor sums = dice_sums(device, l);
  launch(device, plan_dice_sums(l, sizeof(T)), dice_sums_kernel<T>, l, logits, targets, sums.data<double>());
  launch(device, plan_dice_backward(l, sizeof(T)), dice_backward_kernel<T>, l, logits, targets,
         static_cast<const double*>(sums.data<double>()), dloss, dlogits);
}

#define INSTANTIATE(T)                                                                                     \
  template void cross_entropy_forward<T>(int, const LossLayout&, const T*, const int32_t*, T*);            \
  template void cross_entropy_backward<T>(int, const LossLayout&, const T*, const int32_t*, const T*, T*); \
  template void dice_forward<T>(int, const LossLayout&, const T*, const int32_t*, T*);                     \
  template void dice_backward<T>(int, const LossLayout&, const T*, const int32_t*, const T*, T*);
DMDLK_INSTANTIATE_FLOATING(INSTANTIATE)

}  // namespace dmdlk::cuda_ops
