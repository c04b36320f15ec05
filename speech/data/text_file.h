// Whole-file reads and line splitting shared by the corpus readers, the scorer and the trainer. Plain C++.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "dial/status.h"

namespace dial::speech {

// The bytes of the file at `path`. NotFound "<path>: file not found" when it does not exist; IoError naming the
// path and the system's reason when it cannot be read.
Result<std::string> ReadTextFile(const std::string& path);

// The lines of `content` without their '\n' (a final line without '\n' included; "a\n" gives "a" and "").
std::vector<std::string_view> SplitLines(std::string_view content);

}  // namespace dial::speech
