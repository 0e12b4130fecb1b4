// A fixed pool of CPU worker threads for the kernels. Not OpenMP: its threads
// are ours to size and never fork, which keeps it safe in Electron and in
// worker_threads. Several callers (two models training at once) may run
// parallel_for concurrently; each caller also works on its own job, so nested
// or concurrent calls cannot deadlock.
#pragma once
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace dmdlk {

class ThreadPool {
 public:
  explicit ThreadPool(int threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  // The process-wide pool, sized by DMDLK_NUM_THREADS or the hardware. It is
  // never destroyed: joining threads during static destruction at exit is a
  // classic source of hangs in addons.
  static ThreadPool& global();

  int threads() const { return static_cast<int>(workers_.size()) + 1; }

  // Calls body(lo, hi) over [begin, end) in chunks of at least `grain`
  // iterations, spread over the pool and the calling thread; returns when all
  // are done. The first exception thrown by a chunk is rethrown here.
  void parallel_for(int64_t begin, int64_t end, int64_t grain, const std::function<void(int64_t, int64_t)>& body);

 private:
  struct Job;
  void worker_loop();
  static void run_chunks(Job& job);

  std::vector<std::thread> workers_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::shared_ptr<Job>> jobs_;
  std::atomic<size_t> queued_{0};  // jobs_.size(), for workers polling without the mutex
  bool stopping_ = false;
};

inline void parallel_for(int64_t begin, int64_t end, int64_t grain, const std::function<void(int64_t, int64_t)>& body) {
  ThreadPool::global().parallel_for(begin, end, grain, body);
}

}  // namespace dmdlk
