// Jobs done on a few threads and taken back in the order they were given: export --format csv
// turns batches of records into rows on every core while one thread reads the log, and writes
// the rows in log order.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace slablog::cli {

template <typename Job>
class OrderedWork {
 public:
  // work(worker, job) runs on thread `worker` (0 .. threads-1); with no threads, in Submit.
  using Work = std::function<void(size_t worker, Job& job)>;

  OrderedWork(size_t threads, size_t slots, Work work)
      : jobs_(slots), state_(slots, State::kFree), work_(std::move(work)) {
    for (size_t i = 0; i < threads; ++i) threads_.emplace_back([this, i] { Run(i); });
  }
  ~OrderedWork() {
    {
      std::lock_guard lock(mutex_);
      stop_ = true;
    }
    queued_.notify_all();
    for (std::thread& t : threads_) t.join();
  }
  OrderedWork(const OrderedWork&) = delete;
  OrderedWork& operator=(const OrderedWork&) = delete;

  // The job to fill next. When every slot is in flight, the oldest is waited for and handed to
  // take(job) first, whose slot is then the one returned.
  template <typename Take>
  Job& Next(Take&& take) {
    if (in_flight_ == jobs_.size()) TakeOldest(take);
    return jobs_[tail_];
  }
  // Hands the job Next returned to the workers.
  void Submit() {
    const size_t slot = tail_;
    tail_ = (tail_ + 1) % jobs_.size();
    ++in_flight_;
    if (threads_.empty()) {
      work_(0, jobs_[slot]);
      state_[slot] = State::kDone;
      return;
    }
    {
      std::lock_guard lock(mutex_);
      state_[slot] = State::kQueued;
      queue_.push_back(slot);
    }
    queued_.notify_one();
  }
  // Waits for every job submitted, handing each to take(job) in order.
  template <typename Take>
  void Drain(Take&& take) {
    while (in_flight_ > 0) TakeOldest(take);
  }

 private:
  enum class State : unsigned char { kFree, kQueued, kDone };

  template <typename Take>
  void TakeOldest(Take& take) {
    {
      std::unique_lock lock(mutex_);
      done_.wait(lock, [&] { return state_[head_] == State::kDone; });
      state_[head_] = State::kFree;
    }
    take(jobs_[head_]);
    head_ = (head_ + 1) % jobs_.size();
    --in_flight_;
  }

  void Run(size_t worker) {
    for (;;) {
      size_t slot = 0;
      {
        std::unique_lock lock(mutex_);
        queued_.wait(lock, [&] { return stop_ || !queue_.empty(); });
        if (queue_.empty()) return;  // stopped, and nothing left that was handed over
        slot = queue_.front();
        queue_.pop_front();
      }
      work_(worker, jobs_[slot]);
      {
        std::lock_guard lock(mutex_);
        state_[slot] = State::kDone;
      }
      done_.notify_one();
    }
  }

  std::vector<Job> jobs_;
  std::vector<State> state_;  // guarded by mutex_ while threads run
  Work work_;
  std::vector<std::thread> threads_;
  std::mutex mutex_;
  std::condition_variable queued_, done_;
  std::deque<size_t> queue_;  // slots handed over, oldest first
  bool stop_ = false;
  size_t head_ = 0, tail_ = 0, in_flight_ = 0;  // the reading thread's alone
};

}  // namespace slablog::cli
