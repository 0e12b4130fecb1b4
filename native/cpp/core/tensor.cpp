#include "core/tensor.h"

#include <cstdlib>
#include <cstring>
#include <limits>

#include "core/cuda_runtime.h"
#include "core/host_allocator.h"

namespace dmdlk {

int64_t shape_numel(const Shape& shape) {
  int64_t n = 1;
  for (int64_t d : shape) {
    DMDLK_CHECK(d >= 0, ErrorCode::Shape, "shape ", shape_str(shape), " has a negative extent");
    DMDLK_CHECK(d == 0 || n <= std::numeric_limits<int64_t>::max() / d, ErrorCode::Shape, "shape ", shape_str(shape),
                " has too many elements");
    n *= d;
  }
  return n;
}

namespace {
thread_local StorageSource* current_source = nullptr;
}

StorageSource* storage_source() { return current_source; }
void set_storage_source(StorageSource* source) { current_source = source; }

Storage::Storage(size_t bytes, Device device) : bytes_(bytes), device_(device) {
  if (current_source) {
    grant_ = current_source->allocate(bytes, device);
    if (grant_.data) {
      data_ = grant_.data;
      return;
    }
  }
  if (device.is_cuda()) {
    data_ = cuda::alloc(device.index, bytes);
    return;
  }
  data_ = host_alloc(bytes);
}

Storage::~Storage() {
  if (grant_.data) {
    if (grant_.release) grant_.release(grant_.owner.get(), grant_.slot, data_, bytes_, device_);
    return;
  }
  if (device_.is_cuda()) cuda::free(device_.index, data_, bytes_);
  else host_free(data_, bytes_);
}

Tensor Tensor::empty(const Shape& shape, DType dtype, Device device) {
  Tensor t;
  t.numel_ = shape_numel(shape);
  t.shape_ = shape;
  t.dtype_ = dtype;
  t.storage_ = std::make_shared<Storage>(t.nbytes(), device);
  return t;
}

Tensor Tensor::zeros(const Shape& shape, DType dtype, Device device) {
  Tensor t = empty(shape, dtype, device);
  t.fill_zero();
  return t;
}

Tensor Tensor::full(const Shape& shape, DType dtype, Device device, double value) {
  DMDLK_CHECK(dtype == DType::F32 || dtype == DType::F64, ErrorCode::DType, "full: a floating dtype, got ",
              dtype_name(dtype));
  Tensor t = empty(shape, dtype, device);
  float f = float(value);
  const void* element = dtype == DType::F64 ? static_cast<const void*>(&value) : static_cast<const void*>(&f);
  size_t bytes = dtype_size(dtype), count = size_t(t.numel());
  if (device.is_cuda()) {
    if (count) cuda::fill_elements(device.index, t.raw(), count, element, bytes);
  } else {
    for (size_t i = 0; i < count; ++i) std::memcpy(static_cast<char*>(t.raw()) + i * bytes, element, bytes);
  }
  return t;
}

Tensor Tensor::from_host(const void* data, const Shape& shape, DType dtype, Device device) {
  Tensor t = empty(shape, dtype, device);
  if (t.nbytes() == 0) return t;
  if (device.is_cuda()) cuda::copy_host_to_device(device.index, t.raw(), data, t.nbytes());
  else std::memcpy(t.raw(), data, t.nbytes());
  return t;
}

int64_t Tensor::dim(int axis) const {
  int r = rank();
  DMDLK_CHECK(axis >= -r && axis < r, ErrorCode::Shape, "axis ", axis, " is out of range for rank ", r);
  return shape_[axis < 0 ? axis + r : axis];
}

Tensor Tensor::reshape(const Shape& shape) const {
  DMDLK_CHECK(shape_numel(shape) == numel_, ErrorCode::Shape, "cannot reshape ", shape_str(shape_), " (", numel_,
              " elements) to ", shape_str(shape));
  Tensor t = *this;
  t.shape_ = shape;
  return t;
}

Tensor Tensor::to(Device device) const {
  if (device == this->device()) return *this;
  Tensor t = empty(shape_, dtype_, device);
  if (nbytes() == 0) return t;
  if (device.is_cuda() && this->device().is_cpu()) {
    cuda::copy_host_to_device(device.index, t.raw(), raw(), nbytes());
  } else if (device.is_cpu()) {
    copy_to_host(t.raw());
  } else {
    // Between two GPUs: through the host, which keeps the runtime simple and is rare.
    std::vector<unsigned char> staging(nbytes());
    copy_to_host(staging.data());
    cuda::copy_host_to_device(device.index, t.raw(), staging.data(), nbytes());
  }
  return t;
}

Tensor Tensor::clone() const {
  Tensor t = empty(shape_, dtype_, device());
  if (nbytes() == 0) return t;
  if (device().is_cuda()) cuda::copy_device_to_device(device().index, t.raw(), raw(), nbytes());
  else std::memcpy(t.raw(), raw(), nbytes());
  return t;
}

void Tensor::copy_to_host(void* dst) const {
  if (nbytes() == 0) return;
  if (device().is_cuda()) cuda::copy_device_to_host(device().index, dst, raw(), nbytes());
  else std::memcpy(dst, raw(), nbytes());
}

void Tensor::fill_zero() {
  if (nbytes() == 0) return;
  if (device().is_cuda()) cuda::fill_zero(device().index, raw(), nbytes());
  else std::memset(raw(), 0, nbytes());
}

}  // namespace dmdlk
