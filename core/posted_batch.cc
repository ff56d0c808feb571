#include "core/posted_batch.h"

namespace hie {

thread_local int PostHold::depth_ = 0;
thread_local std::vector<std::function<void()>>* PostHold::held_ = nullptr;

PostHold::PostHold() {
  if (depth_++ == 0) held_ = &mine_;
}

PostHold::~PostHold() {
  if (--depth_ != 0) return;
  held_ = nullptr;
  // A post may itself run code that posts (it is outside the hold now).
  for (auto& post : mine_) post();
}

void PostHold::Post(std::function<void()> post) {
  if (held_ != nullptr) {
    held_->push_back(std::move(post));
  } else {
    post();
  }
}

}  // namespace hie
