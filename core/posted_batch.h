// PostedBatch: items handed in from any thread, taken out together by one
// drain that the first item since the last drain asks its caller to post.
// So a burst of N items costs one wake of the thread that drains, not N (the
// event loop's writes to the store, a group commit's ACKs to the event loop).
//
// PostHold: while one is alive on a thread, AddAndPost() on that thread
// keeps the drains it would post and posts each when the hold ends. The
// store holds one while it runs a group commit's completions: otherwise the
// first ACK's post wakes the event loop, which on two cores preempts the
// completing thread, drains that one ACK, and the next ACK posts (and wakes)
// again: measured, a batch's ACKs left ~100 us apart instead of together.
//
// Thread rules: Add(), AddAndPost() and Take() from any thread. Add()
// returns true exactly when the caller must post a drain; the drain calls
// Take() once. A PostHold belongs to the thread that made it.
#pragma once

#include <functional>
#include <mutex>
#include <utility>
#include <vector>

namespace hie {

class PostHold {
 public:
  PostHold();
  ~PostHold();  // posts what was held, in order
  PostHold(const PostHold&) = delete;
  PostHold& operator=(const PostHold&) = delete;

  // Runs `post` now, or at the end of this thread's outermost hold.
  static void Post(std::function<void()> post);

 private:
  static thread_local int depth_;
  static thread_local std::vector<std::function<void()>>* held_;
  std::vector<std::function<void()>> mine_;
};

template <class T>
class PostedBatch {
 public:
  // Queues `item`; true: no drain is pending, post one now.
  bool Add(T item) {
    std::lock_guard lock(mu_);
    items_.push_back(std::move(item));
    const bool post = !drain_posted_;
    drain_posted_ = true;
    return post;
  }
  // Add(), and when a drain is due, `post` (through PostHold::Post).
  template <class Post>
  void AddAndPost(T item, Post&& post) {
    if (Add(std::move(item))) PostHold::Post(std::forward<Post>(post));
  }
  // Everything queued so far, in order; the next Add() asks for a new drain.
  std::vector<T> Take() {
    std::vector<T> out;
    std::lock_guard lock(mu_);
    out.swap(items_);
    drain_posted_ = false;
    return out;
  }

 private:
  std::mutex mu_;
  std::vector<T> items_;       // guarded by mu_
  bool drain_posted_ = false;  // guarded by mu_
};

}  // namespace hie
