#include "core/message.h"

namespace hie {

std::string_view ToString(MessageStatus s) {
  switch (s) {
    case MessageStatus::kReceived: return "RECEIVED";
    case MessageStatus::kFiltered: return "FILTERED";
    case MessageStatus::kTransformed: return "TRANSFORMED";
    case MessageStatus::kQueued: return "QUEUED";
    case MessageStatus::kSent: return "SENT";
    case MessageStatus::kError: return "ERROR";
  }
  return "ERROR";
}

std::optional<MessageStatus> ParseMessageStatus(std::string_view s) {
  for (auto st : {MessageStatus::kReceived, MessageStatus::kFiltered, MessageStatus::kTransformed,
                  MessageStatus::kQueued, MessageStatus::kSent, MessageStatus::kError}) {
    if (ToString(st) == s) return st;
  }
  return std::nullopt;
}

std::string_view ToString(DeliveryState s) {
  switch (s) {
    case DeliveryState::kQueued: return "QUEUED";
    case DeliveryState::kSent: return "SENT";
    case DeliveryState::kError: return "ERROR";
  }
  return "ERROR";
}

std::optional<DeliveryState> ParseDeliveryState(std::string_view s) {
  for (auto st : {DeliveryState::kQueued, DeliveryState::kSent, DeliveryState::kError}) {
    if (ToString(st) == s) return st;
  }
  return std::nullopt;
}

}  // namespace hie
