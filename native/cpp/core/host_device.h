// Per-element math shared by the CPU kernels and the CUDA kernels: written
// once as DMDLK_HD inline functions, so the CPU tests cover the CUDA math too.
#pragma once
#ifdef __CUDACC__
#define DMDLK_HD __host__ __device__ __forceinline__
#define DMDLK_UNROLL _Pragma("unroll")
#else
#define DMDLK_HD inline
#define DMDLK_UNROLL
#endif
