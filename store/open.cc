#include "store/open.h"

namespace hie {
namespace {

bool StartsWith(const std::string& s, const char* prefix) { return s.rfind(prefix, 0) == 0; }

}  // namespace

std::string RedactStoreUri(const std::string& uri) {
  // scheme://user:password@host -> scheme://user:***@host
  size_t scheme = uri.find("://");
  if (scheme == std::string::npos) return uri;
  size_t at = uri.find('@', scheme + 3);
  if (at == std::string::npos) return uri;
  size_t colon = uri.find(':', scheme + 3);
  if (colon == std::string::npos || colon > at) return uri;
  return uri.substr(0, colon + 1) + "***" + uri.substr(at);
}

Result<std::unique_ptr<Store>> OpenStore(const std::string& uri, StoreOptions options) {
  if (StartsWith(uri, "sqlite:")) {
    options.path = uri.substr(7);
    return OpenSqliteStore(options);
  }
  if (StartsWith(uri, "postgresql://") || StartsWith(uri, "postgres://")) {
    options.path = uri;
    auto s = OpenPostgresStore(options);
    if (!s.ok()) {
      return Status(s.status().code(), s.status().message(), "hub.store " + RedactStoreUri(uri));
    }
    return s;
  }
  return Status(ErrorCode::kConfigError,
                "无法识别的存储地址 (unknown store URI): 应为 sqlite:PATH 或 postgresql://... "
                "(expected sqlite:PATH or postgresql://...)",
                "hub.store " + RedactStoreUri(uri));
}

}  // namespace hie
