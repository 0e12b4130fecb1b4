#include "addon/executor.h"

#include <memory>

#include "addon/errors.h"

namespace dmdlk::addon {

struct Executor::Job {
  Napi::Promise::Deferred deferred;
  Work work;
  Finish finish;  // set when work succeeded
  bool failed = false;
  ErrorCode code = ErrorCode::Internal;
  std::string message;
};

struct Executor::Mailbox {
  Napi::TypedThreadSafeFunction<Mailbox, Job, &Executor::settle> tsfn;
  int pending = 0;      // submitted and not yet settled
  bool closed = false;  // released: no more ref/unref
};

Executor::Executor(Napi::Env env) : mailbox_(new Mailbox), env_(env) {
  mailbox_->tsfn = decltype(mailbox_->tsfn)::New(env, "dmdlk executor", 0, 1, mailbox_,
                                                 [](Napi::Env, void*, Mailbox* mailbox) { delete mailbox; });
  mailbox_->tsfn.Unref(env);  // referenced only while jobs are pending
  thread_ = std::thread([this] { run(); });
  // Registered after the thread-safe function, so it runs before that
  // function's own teardown: the thread is joined while it can still post.
  cleanup_ = env.AddCleanupHook(std::function<void()>([this] { shutdown(); }));
}

Executor::~Executor() {
  if (!shut_down_) {
    cleanup_.Remove(env_);
    shutdown();
  }
}

void Executor::shutdown() {
  if (shut_down_) return;
  shut_down_ = true;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();  // waits for the job in progress
  // Queued jobs are rejected with ERR_CANCELLED (when the environment is being
  // torn down, the thread-safe function frees them without calling into JS).
  for (Job* job : queue_) {
    job->work = nullptr;
    job->failed = true, job->code = ErrorCode::Cancelled, job->message = "cancelled: the model was disposed";
    if (mailbox_->tsfn.NonBlockingCall(job) != napi_ok) delete job;
  }
  queue_.clear();
  mailbox_->closed = true;
  mailbox_->tsfn.Release();  // delivers what is queued, then finalizes (freeing the mailbox)
  mailbox_ = nullptr;
}

Napi::Promise Executor::submit(Napi::Env env, Work work) {
  Job* job = new Job{Napi::Promise::Deferred::New(env), std::move(work), nullptr, false, ErrorCode::Internal, {}};
  Napi::Promise promise = job->deferred.Promise();
  if (mailbox_->pending++ == 0) mailbox_->tsfn.Ref(env);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    queue_.push_back(job);
  }
  wake_.notify_one();
  return promise;
}

void Executor::run() {
  for (;;) {
    Job* job;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (stopping_) return;
      job = queue_.front();
      queue_.pop_front();
    }
    try {
      job->finish = job->work();
    } catch (const Error& e) {
      job->failed = true, job->code = e.code(), job->message = e.what();
    } catch (const std::bad_alloc&) {
      job->failed = true, job->code = ErrorCode::HostOom, job->message = "out of host memory";
    } catch (const std::exception& e) { job->failed = true, job->code = ErrorCode::Internal, job->message = e.what(); }
    job->work = nullptr;                                             // release captured tensors on this thread, now
    if (mailbox_->tsfn.NonBlockingCall(job) != napi_ok) delete job;  // the environment is closing
  }
}

void Executor::settle(Napi::Env env, Napi::Function, Mailbox* mailbox, Job* job) {
  std::unique_ptr<Job> owned(job);
  if (env == nullptr) return;  // the environment is being torn down
  if (--mailbox->pending == 0 && !mailbox->closed) mailbox->tsfn.Unref(env);
  // Nothing may escape this callback: it is called from C, and an exception
  // here terminates the process. Any N-API failure below means the
  // environment is terminating (a worker being stopped), where no Promise
  // can be settled any more.
  try {
    Napi::HandleScope scope(env);
    if (job->failed) {
      job->deferred.Reject(to_js_error(env, job->code, job->message).Value());
      return;
    }
    try {
      job->deferred.Resolve(guarded(env, [&] { return job->finish(env); }));
    } catch (const Napi::Error& e) { job->deferred.Reject(e.Value()); }
  } catch (...) {}
}

}  // namespace dmdlk::addon
