// The in-memory storage backend (URL `memory://`): fast, thread-safe, lost when the process exits.
#pragma once

#include <memory>
#include <string>

#include "dial/storage.h"

namespace dial {

// Each call returns a new, empty storage.
std::unique_ptr<Storage> NewMemoryStorage();

// OK for "memory://" (nothing may follow the scheme); InvalidArgument naming the URL otherwise.
Status CheckMemoryStorageUrl(const std::string& url);

}  // namespace dial
