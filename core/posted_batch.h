// PostedBatch: items handed in from any thread, taken out together by one
// drain that the first item since the last drain asks its caller to post.
// So a burst of N items costs one wake of the thread that drains, not N (the
// event loop's writes to the store, a group commit's ACKs to the event loop).
//
// Thread rules: Add() and Take() from any thread. Add() returns true exactly
// when the caller must post a drain; the drain calls Take() once.
#pragma once

#include <mutex>
#include <utility>
#include <vector>

namespace hie {

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
