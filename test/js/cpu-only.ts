// The jest suites test the CPU backend (test/gpu holds the CUDA suites): with
// no GPU visible, device 'auto' is the CPU here and in every process a test
// starts, even on a machine with a GPU. Exact-resume and PyTorch-fixture
// tests depend on the CPU's deterministic float32 arithmetic.
process.env.CUDA_VISIBLE_DEVICES = '';
