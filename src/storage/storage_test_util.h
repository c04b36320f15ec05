// Assertion helpers for the storage tests: unwrap a Status or Result<T>, failing the test with its message.
#pragma once

#include <gtest/gtest.h>

#include "dial/status.h"

#define STORAGE_ASSERT_OK(...)                                     \
  do {                                                             \
    ::dial::Status s_ = (__VA_ARGS__);                             \
    ASSERT_TRUE(s_.ok()) << #__VA_ARGS__ << ": " << s_.ToString(); \
  } while (0)

// Unwraps a Result in a test, failing it (and returning) on error.
#define STORAGE_ASSERT_OK_AND_ASSIGN(lhs, ...)                                   \
  auto DIAL_CONCAT_(r_, __LINE__) = (__VA_ARGS__);                               \
  ASSERT_TRUE(DIAL_CONCAT_(r_, __LINE__).ok())                                   \
      << #__VA_ARGS__ << ": " << DIAL_CONCAT_(r_, __LINE__).status().ToString(); \
  lhs = std::move(DIAL_CONCAT_(r_, __LINE__)).value()

#ifndef ASSERT_OK
#define ASSERT_OK(...) STORAGE_ASSERT_OK(__VA_ARGS__)
#endif
#ifndef ASSERT_OK_AND_ASSIGN
#define ASSERT_OK_AND_ASSIGN(lhs, ...) STORAGE_ASSERT_OK_AND_ASSIGN(lhs, __VA_ARGS__)
#endif
