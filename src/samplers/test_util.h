// Helpers shared by the sampler and pruner tests: a study on a fresh in-memory storage.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "dial/storage.h"
#include "dial/study.h"

namespace dial::testing_util {

inline std::shared_ptr<Storage> NewMemoryStorage() {
  auto storage = OpenStorage("memory://");
  EXPECT_TRUE(storage.ok()) << storage.status().ToString();
  return *storage;
}

inline std::unique_ptr<Study> NewStudy(std::shared_ptr<Storage> storage, StudyOptions options) {
  if (options.study_name.empty()) options.study_name = "test";
  auto study = Study::Create(std::move(storage), options);
  EXPECT_TRUE(study.ok()) << study.status().ToString();
  return std::move(study).value();
}

// Option structs built field by field: brace-designated ones trip -Wmissing-field-initializers.
inline OptimizeOptions NTrials(int64_t n) {
  OptimizeOptions o;
  o.n_trials = n;
  return o;
}
inline SuggestFloatOptions LogScale() {
  SuggestFloatOptions o;
  o.log = true;
  return o;
}

}  // namespace dial::testing_util
