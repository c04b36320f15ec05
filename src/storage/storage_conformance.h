// The storage conformance suite: every Storage backend must pass the same tests of the primitives' contracts
// (include/dial/storage.h). The tests are defined once in storage_conformance_test.cc; a backend joins by
// instantiating the suite with a factory that returns a fresh, empty storage:
//
//   INSTANTIATE_TEST_SUITE_P(Postgres, StorageConformanceTest,
//                            ::testing::Values(StorageBackend{"postgres", [] { return NewEmptyPostgres(); }}),
//                            StorageBackendName);
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <ostream>
#include <string>

#include "dial/storage.h"

namespace dial::testing {

struct StorageBackend {
  std::string name;
  // A new, empty storage; it is destroyed at the end of each test.
  std::function<std::shared_ptr<Storage>()> make;
};

// gtest prints a test's parameter; without this it would dump the bytes of the std::function.
inline void PrintTo(const StorageBackend& backend, std::ostream* os) { *os << backend.name; }

inline std::string StorageBackendName(const ::testing::TestParamInfo<StorageBackend>& info) { return info.param.name; }

class StorageConformanceTest : public ::testing::TestWithParam<StorageBackend> {
 protected:
  void SetUp() override {
    storage_ = GetParam().make();
    ASSERT_NE(storage_, nullptr) << "backend " << GetParam().name << " could not be opened";
  }
  void TearDown() override { storage_.reset(); }

  Storage& storage() { return *storage_; }
  std::shared_ptr<Storage> storage_;
};

// A sqlite:/// URL for a new database in a fresh temporary folder; the returned storage removes the folder when
// the last reference to it goes.
std::shared_ptr<Storage> NewTemporarySqliteStorage();

}  // namespace dial::testing
