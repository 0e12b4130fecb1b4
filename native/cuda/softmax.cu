// Softmax over rows, as gpu/softmax.h plans it: a block per row, or per chunk
// of a long row with the chunks' pieces combined by the row's last chunk.
#include <cub/block/block_reduce.cuh>

#include "core/cuda_runtime.h"
#include "core/index_divisor.h"
#include "core/tensor.h"
#include "cuda/arrivals.cuh"
#include "cuda_check.cuh"
#include "gpu/softmax.h"
#include "ops/backend.h"

namespace dmdlk::cuda_ops {

namespace {

using Block = cub::BlockReduce<double, int(kSoftmaxThreads)>;

struct Max {
  __device__ double operator()(double a, double b) const { return a > b ? a : b; }
};

// The range of row elements this block covers: its chunk of its row (32-bit
// divisions: blocks and chunks are grid extents, rows shorter than 2^31:
// checked in softmax_forward and softmax_backward).
struct Chunk {
  int64_t row, begin, end;
  __device__ Chunk(int64_t n, int64_t chunks) {
    row = blockIdx.x / uint32_t(chunks);
    int64_t c = blockIdx.x % uint32_t(chunks), per = uint32_t(n + chunks - 1) / uint32_t(chunks);
    begin = c * per;
    end = begin + per < n ? begin + per : n;
  }
};

// Warp shuffles over the 32 lanes' values, in a fixed order.
__device__ double warp_max(double v) {
  for (int o = 16; o > 0; o /= 2) v = fmax(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}
__device__ double warp_sum(double v) {
  for (int o = 16; o > 0; o /= 2) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}

// The row's maximum and sum from its chunks' (each sum rescaled to the
// row's maximum), into its first chunk's slots: by the first warp of the
// row's last chunk to arrive, a chunk a lane in turn.
__device__ void combine_row_chunks(int64_t row, int64_t chunks, double* maxima, double* sums) {
  const int lane = int(threadIdx.x);
  double m = -INFINITY;
  for (int64_t c = lane; c < chunks; c += 32) m = fmax(m, load_arrived(&maxima[row * chunks + c]));
  m = warp_max(m);
  double sum = 0;
  for (int64_t c = lane; c < chunks; c += 32) {
    double piece = load_arrived(&sums[row * chunks + c]);  // an empty chunk's 0 left out, a NaN kept
    if (piece != 0) sum += piece * exp(load_arrived(&maxima[row * chunks + c]) - m);
  }
  sum = warp_sum(sum);
  if (lane == 0) maxima[row * chunks] = m, sums[row * chunks] = sum;
}

// The chunk's maximum and Σ exp(x − max), and the row's once its last chunk
// arrives; with one chunk, the row's softmax too.
template <typename T>
__global__ void __launch_bounds__(kSoftmaxThreads)
    forward_kernel(int64_t n, int64_t chunks, const T* x, T* y, double* maxima, double* sums, unsigned* arrivals) {
  __shared__ Block::TempStorage scratch;
  __shared__ double shared_m, shared_sum;
  const Chunk r(n, chunks);
  const T* in = x + r.row * n;
  double m = -INFINITY;
  for (int64_t i = r.begin + threadIdx.x; i < r.end; i += kSoftmaxThreads) m = in[i] > m ? double(in[i]) : m;
  m = Block(scratch).Reduce(m, Max{});
  if (threadIdx.x == 0) shared_m = m;
  __syncthreads();
  m = shared_m;
  double sum = 0;
  for (int64_t i = r.begin + threadIdx.x; i < r.end; i += kSoftmaxThreads) sum += exp(double(in[i]) - m);
  sum = Block(scratch).Sum(sum);
  if (chunks > 1) {
    if (threadIdx.x == 0) maxima[blockIdx.x] = m, sums[blockIdx.x] = sum;
    if (last_to_arrive(&arrivals[r.row], chunks) && threadIdx.x < 32) combine_row_chunks(r.row, chunks, maxima, sums);
    return;
  }
  if (threadIdx.x == 0) shared_sum = sum;
  __syncthreads();
  sum = shared_sum;
  for (int64_t i = r.begin + threadIdx.x; i < r.end; i += kSoftmaxThreads)
    y[r.row * n + i] = T(exp(double(in[i]) - m) / sum);
}

template <typename T>
__global__ void forward_elements_kernel(int64_t rows, IndexDivisor n, int64_t chunks, const T* x, const double* maxima,
                                        const double* sums, T* y) {
  DMDLK_GRID_LOOP(e, rows * n.d) {
    const int64_t row = n.divide(e);
    y[e] = T(exp(double(x[e]) - maxima[row * chunks]) / sums[row * chunks]);
  }
}

// The chunk's Σ dy·y, and the row's (in chunk order, into its first
// chunk's slot) once its last chunk arrives; with one chunk, the row's dx too.
template <typename T>
__global__ void __launch_bounds__(kSoftmaxThreads)
    backward_kernel(int64_t n, int64_t chunks, const T* dy, const T* y, T* dx, double* dots, unsigned* arrivals) {
  __shared__ Block::TempStorage scratch;
  __shared__ double shared_dot;
  const Chunk r(n, chunks);
  const int64_t base = r.row * n;
  double dot = 0;
  for (int64_t i = r.begin + threadIdx.x; i < r.end; i += kSoftmaxThreads) dot += double(dy[base + i]) * y[base + i];
  dot = Block(scratch).Sum(dot);
  if (chunks > 1) {
    if (threadIdx.x == 0) dots[blockIdx.x] = dot;
    if (!last_to_arrive(&arrivals[r.row], chunks) || threadIdx.x >= 32) return;
    double total = 0;  // the row's, as combine_row_chunks
    for (int64_t c = threadIdx.x; c < chunks; c += 32) total += load_arrived(&dots[r.row * chunks + c]);
    total = warp_sum(total);
    if (threadIdx.x == 0) dots[r.row * chunks] = total;
    return;
  }
  if (threadIdx.x == 0) shared_dot = dot;
  __syncthreads();
  dot = shared_dot;
  for (int64_t i = r.begin + threadIdx.x; i < r.end; i += kSoftmaxThreads)
    dx[base + i] = T(y[base + i] * (double(dy[base + i]) - dot));
}

template <typename T>
__global__ void backward_elements_kernel(int64_t rows, IndexDivisor n, int64_t chunks, const T* dy, const T* y,
                                         const double* dots, T* dx) {
  DMDLK_GRID_LOOP(e, rows * n.d) dx[e] = T(y[e] * (double(dy[e]) - dots[n.divide(e) * chunks]));
}

}  // namespace

template <typename T>
void softmax_forward(int device, int64_t rows, int64_t n, const T* x, T* y) {
  if (rows * n == 0) return;
  check_fits_32_bits(n, "softmax: elements of a row:");
  int64_t chunks = softmax_chunks(rows, n);
  std::vector<LaunchPlan> plans = plan_softmax_forward(rows, n, sizeof(T));
  if (chunks == 1)
    return launch(device, plans[0], forward_kernel<T>, n, chunks, x, y, (double*)nullptr, (double*)nullptr,
                  (unsigned*)nullptr);
  Tensor pieces = Tensor::empty({2, rows * chunks}, DType::F64, Device::cuda(device));
  double *maxima = pieces.data<double>(), *sums = maxima + rows * chunks;
  launch(device, plans[0], forward_kernel<T>, n, chunks, x, y, maxima, sums,
         cuda::arrival_counters(device, size_t(rows)));
  launch(device, plans[1], forward_elements_kernel<T>, rows, IndexDivisor::of(n), chunks, x,
         static_cast<const double*>(maxima), static_cast<const double*>(sums), y);
}

template <typename T>
void softmax_backward(int device, int64_t rows, int64_t n, const T* dy, const T* y, T* dx) {
  if (rows * n == 0) return;
  check_fits_32_bits(n, "softmax: elements of a row:");
  int64_t chunks = softmax_chunks(rows, n);
  std::vector<LaunchPlan> plans = plan_softmax_backward(rows, n, sizeof(T));
  if (chunks == 1)
    return launch(device, plans[0], backward_kernel<T>, n, chunks, dy, y, dx, (double*)nullptr, (unsigned*)nullptr);
  Tensor pieces = Tensor::empty({rows * chunks}, DType::F64, Device::cuda(device));
  double* dots = pieces.data<double>();
  launch(device, plans[0], backward_kernel<T>, n, chunks, dy, y, dx, dots,
         cuda::arrival_counters(device, size_t(rows)));
  launch(device, plans[1], backward_elements_kernel<T>, rows, IndexDivisor::of(n), chunks, dy, y,
         static_cast<const double*>(dots), dx);
}

#define INSTANTIATE(T)                                                   \
  template void softmax_forward<T>(int, int64_t, int64_t, const T*, T*); \
  template void softmax_backward<T>(int, int64_t, int64_t, const T*, const T*, T*);
DMDLK_INSTANTIATE_FLOATING(INSTANTIATE)

}  // namespace dmdlk::cuda_ops
