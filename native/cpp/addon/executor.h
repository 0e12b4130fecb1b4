// A serial queue of work on one native thread, whose results settle Promises
// on the JavaScript thread. Heavy work never runs on libuv's shared pool
// (which sharp, fs and every worker_thread also need) nor on the event loop.
//
// A job is a Work function run on the executor thread; it returns a Finish
// function that builds the resolution value on the JS thread. A dmdlk::Error
// thrown by either rejects the Promise with an Error carrying its code.
//
// The executor holds the event loop open only while jobs are pending, and is
// shut down (its thread joined) by an environment cleanup hook, so a worker
// thread or an Electron process can exit while work is queued. Destroying it
// earlier (a model's dispose()) waits for the job in progress and rejects the
// queued ones with ERR_CANCELLED.
#pragma once
#include <napi.h>

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

namespace dmdlk::addon {

class Executor {
 public:
  using Finish = std::function<Napi::Value(Napi::Env)>;
  using Work = std::function<Finish()>;

  explicit Executor(Napi::Env env);
  ~Executor();
  Executor(const Executor&) = delete;
  Executor& operator=(const Executor&) = delete;

  Napi::Promise submit(Napi::Env env, Work work);

 private:
  struct Job;
  struct Mailbox;
  static void settle(Napi::Env env, Napi::Function, Mailbox* mailbox, Job* job);

  void run();
  void shutdown();

  // What the JS-thread callbacks use; freed by the thread-safe function's own
  // finalizer, so results delivered after the executor is gone are still safe.
  Mailbox* mailbox_;
  std::thread thread_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Job*> queue_;
  bool stopping_ = false;
  bool shut_down_ = false;
  Napi::Env env_;
  Napi::Env::CleanupHook<std::function<void()>> cleanup_;
};

}  // namespace dmdlk::addon
