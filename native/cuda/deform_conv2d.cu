// Deformable im2col (one thread per column element) and its adjoint: dx by
// atomic scatter into the input planes (the corners a sample reads are
// data-dependent), doffset and dmask by one thread per (offset group, tap,
// pixel) summing over the group's channels, with no atomics.
#include "cuda_check.cuh"
#include "ops/deform_conv2d.h"

namespace dmdlk::cuda_ops {

namespace {

template <typename T>
__global__ void im2col_kernel(DeformGeometry g, const T* x, const T* offset, const T* mask, T* col) {
  int64_t n = g.col_rows() * g.pixels();
  for (int64_t e = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; e < n; e += int64_t(gridDim.x) * blockDim.x)
    col[e] = deform_im2col_at(g, x, offset, mask, e / g.pixels(), e % g.pixels());
}

template <typename T>
__global__ void scatter_dx_kernel(DeformGeometry g, const T* offset, const T* mask, const T* dcol, T* dx) {
  int64_t n = g.col_rows() * g.pixels();
  for (int64_t e = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; e < n; e += int64_t(gridDim.x) * blockDim.x) {
    int64_t row = e / g.pixels(), p = e % g.pixels(), c = row / g.taps(), t = row % g.taps(), og = g.group_of(c);
    T d = dcol[e];
    if (mask) d *= mask[(og * g.taps() + t) * g.pixels() + p];
    T y, xx;
    deform_point(g, offset, og, t, p, &y, &xx);
    T* plane = dx + c * g.height * g.width;
    deform_scatter(g.height, g.width, y, xx, [&](int64_t i, T w) { atomicAdd(plane + i, w * d); });
  }
}

template <typename T>
__global__ void offset_grad_kernel(DeformGeometry g, const T* x, const T* offset, const T* mask, const T* dcol,
                                   T* doffset, T* dmask) {
  int64_t n = g.offset_groups * g.taps() * g.pixels();
  for (int64_t e = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; e < n; e += int64_t(gridDim.x) * blockDim.x) {
    int64_t p = e % g.pixels(), t = (e / g.pixels()) % g.taps(), og = e / (g.pixels() * g.taps());
    T dy, dxo, dm;
    deform_offset_grad_at(g, x, offset, mask, dcol, og, t, p, &dy, &dxo, &dm);
    doffset[(og * 2 * g.taps() + 2 * t) * g.pixels() + p] = dy;
    doffset[(og * 2 * g.taps() + 2 * t + 1) * g.pixels() + p] = dxo;
    if (dmask) dmask[e] = dm;
  }
}

}  // namespace

template <typename T>
void deform_im2col(int device, const DeformGeometry& g, const T* x, const T* offset, const T* mask, T* col) {
  DeviceGuard guard(device);
  im2col_kernel<T><<<blocks_for(g.col_rows() * g.pixels()), 256, 0, stream(device)>>>(g, x, offset, mask, col);
  check_launch(device, "deform_im2col");
}

template <typename T>
void deform_col2im(int device, const DeformGeometry& g, const T* x, const T* offset, const T* mask, const T* dcol, T* dx,
                   T* doffset, T* dmask) {
  DeviceGuard guard(device);
  scatter_dx_kernel<T><<<blocks_for(g.col_rows() * g.pixels()), 256, 0, stream(device)>>>(g, offset, mask, dcol, dx);
  offset_grad_kernel<T><<<blocks_for(g.offset_groups * g.taps() * g.pixels()), 256, 0, stream(device)>>>(
      g, x, offset, mask, dcol, doffset, dmask);
  check_launch(device, "deform_col2im");
}

template void deform_im2col<float>(int, const DeformGeometry&, const float*, const float*, const float*, float*);
template void deform_im2col<double>(int, const DeformGeometry&, const double*, const double*, const double*, double*);
template void deform_col2im<float>(int, const DeformGeometry&, const float*, const float*, const float*, const float*,
                                   float*, float*, float*);
template void deform_col2im<double>(int, const DeformGeometry&, const double*, const double*, const double*,
                                    const double*, double*, double*, double*);

}  // namespace dmdlk::cuda_ops
