// A dense, contiguous NCHW tensor. Storage is reference-counted and owned by
// the allocator of its device; reshape shares it, everything else copies.
#pragma once
#include <cstdint>
#include <memory>
#include <vector>

#include "core/device.h"
#include "core/dtype.h"
#include "core/error.h"
#include "core/storage_source.h"

namespace dmdlk {

using Shape = std::vector<int64_t>;

int64_t shape_numel(const Shape& shape);

// One allocation on one device, freed (or returned to the CUDA cache) when the
// last tensor that uses it is gone.
class Storage {
 public:
  Storage(size_t bytes, Device device);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;

  void* data() const { return data_; }
  size_t bytes() const { return bytes_; }
  Device device() const { return device_; }

 private:
  void* data_ = nullptr;
  size_t bytes_ = 0;
  Device device_;
  StorageGrant grant_;  // set when a StorageSource served the memory
};

class Tensor {
 public:
  Tensor() = default;  // undefined: holds nothing

  static Tensor empty(const Shape& shape, DType dtype, Device device = Device::cpu());
  static Tensor zeros(const Shape& shape, DType dtype, Device device = Device::cpu());
  // Every element `value` (a floating dtype), set on the device: no host copy.
  static Tensor full(const Shape& shape, DType dtype, Device device, double value);
  // Copies numel * dtype_size bytes from host memory.
  static Tensor from_host(const void* data, const Shape& shape, DType dtype, Device device = Device::cpu());
  template <typename T>
  static Tensor from_vector(const std::vector<T>& values, const Shape& shape, Device device = Device::cpu()) {
    DMDLK_CHECK(static_cast<int64_t>(values.size()) == shape_numel(shape), ErrorCode::Shape,
                "from_vector: ", values.size(), " values do not fill shape ", shape_str(shape));
    return from_host(values.data(), shape, dtype_of<T>::value, device);
  }

  bool defined() const { return storage_ != nullptr; }
  const Shape& shape() const { return shape_; }
  int rank() const { return static_cast<int>(shape_.size()); }
  int64_t dim(int axis) const;  // negative axes count from the end
  int64_t numel() const { return numel_; }
  DType dtype() const { return dtype_; }
  Device device() const { return storage_ ? storage_->device() : Device::cpu(); }
  size_t nbytes() const { return static_cast<size_t>(numel_) * dtype_size(dtype_); }

  void* raw() const { return storage_ ? storage_->data() : nullptr; }
  // Whether this is the only tensor on its storage (no copy, no view shares
  // it): then, and only then, may it be written in place (tensors are
  // otherwise immutable).
  bool sole_holder() const { return storage_ && storage_.use_count() == 1; }
  template <typename T>
  T* data() const {
    DMDLK_CHECK(dtype_ == dtype_of<T>::value, ErrorCode::DType, "tensor holds ", dtype_name(dtype_), ", accessed as ",
                dtype_name(dtype_of<T>::value));
    return static_cast<T*>(raw());
  }

  Tensor reshape(const Shape& shape) const;  // same storage, same numel
  Tensor to(Device device) const;            // a copy on `device` (shares if already there)
  Tensor clone() const;
  void copy_to_host(void* dst) const;  // waits for pending GPU work
  template <typename T>
  std::vector<T> to_vector() const {
    std::vector<T> out(static_cast<size_t>(numel_));
    DMDLK_CHECK(dtype_ == dtype_of<T>::value, ErrorCode::DType, "to_vector: tensor holds ", dtype_name(dtype_));
    copy_to_host(out.data());
    return out;
  }
  void fill_zero();

 private:
  std::shared_ptr<Storage> storage_;
  Shape shape_;
  int64_t numel_ = 0;
  DType dtype_ = DType::F32;
};

}  // namespace dmdlk
