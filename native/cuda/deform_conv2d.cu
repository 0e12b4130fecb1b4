// Deformable convolution on CUDA. DDLK's depthwise form goes to its direct
// kernels (deform_depthwise.cu); the general form is deformable im2col (one
// thread per column element) and a grouped GEMM per image, and its adjoint:
// dx by atomic scatter into the input planes (the corners a sample reads are
// data-dependent), doffset and dmask by one thread per (offset group, tap,
// pixel) summing over the group's channels, with no atomics. The launches are
// exactly plan_deform_conv2d_forward's and _backward's (gpu/deform_conv2d.h).
#include "core/index_divisor.h"
#include "cuda_check.cuh"
#include "gpu/deform_conv2d.h"
#include "ops/backend.h"

namespace dmdlk::cuda_ops {

namespace {

// `pixels`: an image's output pixels, as a divisor of the flat index (rows of
// the columns, or offset groups and taps, by pixels); the rest in 32 bits.
template <typename T>
__global__ void im2col_kernel(DeformGeometry g, IndexDivisor pixels, const T* x, const T* offset, const T* mask,
                              T* col) {
  int64_t n = g.col_rows() * g.pixels();
  DMDLK_GRID_LOOP(e, n) {
    int64_t p;
    const int64_t row = pixels.divide(e, p);
    col[e] = deform_im2col_at(g, x, offset, mask, row, p);
  }
}

template <typename T>
__global__ void scatter_dx_kernel(DeformGeometry g, IndexDivisor pixels, const T* offset, const T* mask, const T* dcol,
                                  T* dx) {
  int64_t n = g.col_rows() * g.pixels();
  DMDLK_GRID_LOOP(e, n) {
    int64_t p;
    const int64_t row = pixels.divide(e, p);
    const int64_t c = uint32_t(row) / uint32_t(g.taps()), t = uint32_t(row) % uint32_t(g.taps()), og = g.group_of(c);
    T d = dcol[e];
    if (mask) d *= mask[(og * g.taps() + t) * g.pixels() + p];
    T y, xx;
    deform_point(g, offset, og, t, p, &y, &xx);
    T* plane = dx + c * g.height * g.width;
    deform_scatter(g.height, g.width, y, xx, [&](int64_t i, T w) { atomicAdd(plane + i, w * d); });
  }
}

template <typename T>
__global__ void offset_grad_kernel(DeformGeometry g, IndexDivisor pixels, const T* x, const T* offset, const T* mask,
                                   const T* dcol, T* doffset, T* dmask) {
  int64_t n = g.offset_groups * g.taps() * g.pixels();
  DMDLK_GRID_LOOP(e, n) {
    int64_t p;
    const int64_t row = pixels.divide(e, p);  // (offset group, tap)
    const int64_t t = uint32_t(row) % uint32_t(g.taps()), og = uint32_t(row) / uint32_t(g.taps());
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
  launch(device, plan_deform_im2col(g, sizeof(T)), im2col_kernel<T>, g, IndexDivisor::of(g.pixels()), x, offset, mask,
         col);
}

template <typename T>
void deform_col2im(int device, const DeformGeometry& g, const T* x, const T* offset, const T* mask, const T* dcol,
                   T* dx, T* doffset, T* dmask) {
  std::vector<LaunchPlan> plans = plan_deform_col2im(g, sizeof(T));
  const IndexDivisor pixels = IndexDivisor::of(g.pixels());
  launch(device, plans[0], scatter_dx_kernel<T>, g, pixels, offset, mask, dcol, dx);
  launch(device, plans[1], offset_grad_kernel<T>, g, pixels, x, offset, mask, dcol, doffset, dmask);
}

namespace {

// Per-image pointers into a batched tensor (null stays null).
template <typename T>
T* image(T* t, int64_t n, int64_t per_image) {
  return t ? t + n * per_image : nullptr;
}

}  // namespace

template <typename T>
void deform_conv2d_forward(int device, const DeformPlan& p, const T* x, const T* offset, const T* w, const T* mask,
                           const T* bias, T* y) {
  const DeformGeometry& g = p.geo;
  if (p.ddlk_form()) {
    deform_depthwise_forward(device, g, p.batch, x, offset, w, y);
  } else {
    Tensor col = Tensor::empty({g.col_rows(), g.pixels()}, dtype_of<T>::value, Device::cuda(device));
    int64_t x_image = g.channels * g.height * g.width, off_image = 2 * g.offset_groups * g.taps() * g.pixels();
    int64_t mask_image = g.offset_groups * g.taps() * g.pixels(), y_image = p.out_channels * g.pixels();
    for (int64_t n = 0; n < p.batch; ++n) {
      deform_im2col(device, g, x + n * x_image, offset + n * off_image, image(mask, n, mask_image), col.data<T>());
      gemm<T>(device, conv_forward_gemm(deform_gemm_shape(p)), 1, w, col.data<T>(), 0, y + n * y_image);
    }
  }
  if (bias) add_bias(device, deform_bias_layout(p), bias, y);
}

template <typename T>
void deform_conv2d_backward(int device, const DeformPlan& p, const T* dy, const T* x, const T* offset, const T* w,
                            const T* mask, T* dx, T* doffset, T* dw, T* dmask, T* db) {
  const DeformGeometry& g = p.geo;
  if (p.ddlk_form()) {
    deform_depthwise_backward(device, g, p.batch, x, offset, w, dy, dx, doffset, dw);
  } else {
    Tensor col = Tensor::empty({g.col_rows(), g.pixels()}, dtype_of<T>::value, Device::cuda(device));
    Tensor dcol = Tensor::empty({g.col_rows(), g.pixels()}, dtype_of<T>::value, Device::cuda(device));
    ConvGemmShape s = deform_gemm_shape(p);
    int64_t x_image = g.channels * g.height * g.width, off_image = 2 * g.offset_groups * g.taps() * g.pixels();
    int64_t mask_image = g.offset_groups * g.taps() * g.pixels(), y_image = p.out_channels * g.pixels();
    for (int64_t n = 0; n < p.batch; ++n) {
      const T *xn = x + n * x_image, *on = offset + n * off_image, *mn = image(mask, n, mask_image),
              *dyn = dy + n * y_image;
      deform_im2col(device, g, xn, on, mn, col.data<T>());
      gemm<T>(device, conv_weight_grad_gemm(s), 1, dyn, col.data<T>(), n > 0 ? 1 : 0, dw);
      gemm<T>(device, conv_column_grad_gemm(s), 1, w, dyn, 0, dcol.data<T>());
      deform_col2im(device, g, xn, on, mn, static_cast<const T*>(dcol.data<T>()), dx + n * x_image,
                    doffset + n * off_image, image(dmask, n, mask_image));
    }
  }
  if (db) bias_grad(device, deform_bias_layout(p), dy, db);
}

#define INSTANTIATE(T)                                                                                              \
  template void deform_im2col<T>(int, const DeformGeometry&, const T*, const T*, const T*, T*);                     \
  template void deform_col2im<T>(int, const DeformGeometry&, const T*, const T*, const T*, const T*, T*, T*, T*);   \
  template void deform_conv2d_forward<T>(int, const DeformPlan&, const T*, const T*, const T*, const T*, const T*,  \
                                         T*);                                                                       \
  template void deform_conv2d_backward<T>(int, const DeformPlan&, const T*, const T*, const T*, const T*, const T*, \
                                          T*, T*, T*, T*, T*);
DMDLK_INSTANTIATE_FLOATING(INSTANTIATE)

}  // namespace dmdlk::cuda_ops
