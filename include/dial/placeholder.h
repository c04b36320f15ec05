// `{name}` placeholders in a command's arguments: parsed once when the study file is loaded (so an unknown name
// is a config error, not a failed trial) and substituted per trial. `{{` and `}}` stand for literal braces.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "dial/status.h"

namespace dial {

// Placeholders that every command trial can use besides its parameters.
inline constexpr const char* kTrialNumberPlaceholder = "trial_number";
inline constexpr const char* kTrialDirPlaceholder = "trial_dir";
inline constexpr const char* kStudyNamePlaceholder = "study_name";

// The names used in `arg`, in order. InvalidArgument for an unclosed '{', a stray '}' or an empty `{}`.
Result<std::vector<std::string>> PlaceholderNames(const std::string& arg);

// `arg` with every `{name}` replaced by lookup(name). InvalidArgument naming the placeholder when lookup returns
// nullopt, or when `arg` is malformed as above.
Result<std::string> SubstitutePlaceholders(const std::string& arg,
                                           const std::function<std::optional<std::string>(const std::string&)>& lookup);

}  // namespace dial
