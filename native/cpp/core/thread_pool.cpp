#include "core/thread_pool.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <exception>

namespace dmdlk {

namespace {

// Before sleeping on a condition variable, workers poll for the next job and a
// caller for its job's end for up to kSpinTime: a network's ops come back to
// back, and waking a sleeping thread costs tens of microseconds, as much as a
// small op takes. (OpenMP runtimes spin in the same way.)
constexpr auto kSpinTime = std::chrono::microseconds(200);

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#else
  std::this_thread::yield();
#endif
}

// Polls ready() for up to kSpinTime; whether it became true.
template <typename Ready>
bool spin_until(Ready ready) {
  auto deadline = std::chrono::steady_clock::now() + kSpinTime;
  for (int i = 1;; ++i) {
    if (ready()) return true;
    cpu_relax();
    if (i % 64 == 0 && std::chrono::steady_clock::now() > deadline) return false;
  }
}

}  // namespace

struct ThreadPool::Job {
  const std::function<void(int64_t, int64_t)>* body;
  int64_t begin, end, chunk_size, chunks;
  std::atomic<int64_t> next{0};      // next chunk to hand out
  std::atomic<int64_t> finished{0};  // chunks completed
  std::mutex done_mutex;
  std::condition_variable done;
  std::exception_ptr error;  // first failure, guarded by done_mutex
};

ThreadPool::ThreadPool(int threads) {
  for (int i = 1; i < std::max(1, threads); ++i) workers_.emplace_back([this] { worker_loop(); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  for (auto& t : workers_) t.join();
}

ThreadPool& ThreadPool::global() {
  static ThreadPool* pool = [] {
    int threads = static_cast<int>(std::thread::hardware_concurrency());
    if (const char* env = std::getenv("DMDLK_NUM_THREADS")) {
      int requested = std::atoi(env);
      if (requested > 0) threads = requested;
    }
    return new ThreadPool(std::max(1, threads));
  }();
  return *pool;
}

void ThreadPool::run_chunks(Job& job) {
  for (;;) {
    int64_t c = job.next.fetch_add(1);
    if (c >= job.chunks) return;
    int64_t lo = job.begin + c * job.chunk_size;
    int64_t hi = std::min(job.end, lo + job.chunk_size);
    try {
      (*job.body)(lo, hi);
    } catch (...) {
      std::lock_guard<std::mutex> lock(job.done_mutex);
      if (!job.error) job.error = std::current_exception();
    }
    if (job.finished.fetch_add(1) + 1 == job.chunks) {
      std::lock_guard<std::mutex> lock(job.done_mutex);
      job.done.notify_all();
    }
  }
}

void ThreadPool::worker_loop() {
  for (;;) {
    std::shared_ptr<Job> job;
    spin_until([this] { return queued_.load(std::memory_order_relaxed) > 0; });
    {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
      if (stopping_) return;
      job = jobs_.front();
      // Once every chunk is handed out the job leaves the queue; its owner waits for the rest.
      if (job->next.load() >= job->chunks - 1) {
        jobs_.pop_front();
        queued_ = jobs_.size();
      }
    }
    run_chunks(*job);
  }
}

void ThreadPool::parallel_for(int64_t begin, int64_t end, int64_t grain,
                              const std::function<void(int64_t, int64_t)>& body) {
  if (end <= begin) return;
  int64_t n = end - begin;
  grain = std::max<int64_t>(1, grain);
  // A few chunks per thread balance uneven work without much queue traffic.
  int64_t max_chunks = std::max<int64_t>(1, n / grain);
  int64_t chunks = std::min<int64_t>(max_chunks, static_cast<int64_t>(threads()) * 4);
  if (chunks <= 1 || workers_.empty()) {
    body(begin, end);
    return;
  }
  auto job = std::make_shared<Job>();
  job->body = &body;
  job->begin = begin;
  job->end = end;
  job->chunk_size = (n + chunks - 1) / chunks;
  job->chunks = (n + job->chunk_size - 1) / job->chunk_size;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    jobs_.push_back(job);
    queued_ = jobs_.size();
  }
  wake_.notify_all();
  run_chunks(*job);
  if (!spin_until([&] { return job->finished.load() == job->chunks; })) {
    std::unique_lock<std::mutex> lock(job->done_mutex);
    job->done.wait(lock, [&] { return job->finished.load() == job->chunks; });
  }
  {
    // The job may still be queued if the caller took its last chunks itself.
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = std::find(jobs_.begin(), jobs_.end(), job);
    if (it != jobs_.end()) jobs_.erase(it);
    queued_ = jobs_.size();
  }
  if (job->error) std::rethrow_exception(job->error);
}

}  // namespace dmdlk
