// WriteFileAtomic: the file destination's one primitive. A reader of `dir`
// sees either no file or the whole content, never a partial file, and after
// success the file survives a power loss (data and directory entry synced).
//
// Thread rules: safe from any thread; concurrent writers of the same name
// each write their own temp file, and the last rename wins.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "core/status.h"

namespace hie {

// Writes `content` to dir/file_name: a temp file in the same directory, fsync,
// rename over the target, fsync the directory. Creates `dir` (and parents)
// when missing. `file_name` must be a plain name: no '/', no "..", not empty,
// no NUL (kInvalidArgument). I/O failures are kStoreError naming the path.
Status WriteFileAtomic(const std::filesystem::path& dir, const std::string& file_name,
                       std::string_view content);

}  // namespace hie
