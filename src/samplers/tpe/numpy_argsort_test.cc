// numpy's argsort order, including among ties, against orders printed by numpy 1.24.2 (/usr/bin/python3:
// numpy.argsort(v) for the arrays below; the organ-pipe array reaches numpy's heapsort fallback).
#include "samplers/tpe/numpy_argsort.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <vector>

namespace dial::internal::tpe {
namespace {

std::vector<int> Argsort(const std::vector<double>& v) {
  std::vector<int> order;
  NumpyArgsort(v, &order);
  return order;
}

TEST(TpeNumpyArgsortTest, TiesInNumpysOrder) {
  EXPECT_EQ(Argsort({3, 0, 1, 2, 3, 3, 3, 3, 0, 1, 2, 3, 0, 1, 2, 2, 2, 0, 3, 2}),
            (std::vector<int>{1, 17, 8, 12, 9, 2, 13, 16, 15, 14, 19, 3, 10, 11, 18, 7, 6, 5, 4, 0}));
  EXPECT_EQ(Argsort({0, 0, 3, 3, 0, 0, 3, 3, 2, 2, 3, 0, 0, 3, 1, 0, 0, 3, 1, 0,
                     3, 1, 0, 2, 0, 1, 2, 2, 0, 2, 1, 3, 3, 3, 0, 3, 0, 1, 0, 0}),
            (std::vector<int>{0,  36, 34, 28, 24, 22, 38, 16, 15, 12, 11, 19, 39, 1,  4, 5,  37, 30, 21, 25,
                              18, 14, 29, 8,  27, 26, 9,  23, 7,  3,  6,  31, 32, 33, 2, 35, 17, 13, 10, 20}));
  // Up to 16 elements numpy insertion-sorts: stable.
  EXPECT_EQ(Argsort({1, 0, 1, 0, 1}), (std::vector<int>{1, 3, 0, 2, 4}));
  EXPECT_TRUE(Argsort({}).empty());
}

TEST(TpeNumpyArgsortTest, HeapsortFallback) {
  std::vector<double> v;
  for (int i = 0; i < 200; ++i) v.push_back(i);
  for (int i = 199; i >= 0; --i) v.push_back(i);
  const std::vector<int> order = Argsort(v);
  EXPECT_EQ(std::vector<int>(order.begin(), order.begin() + 12),
            (std::vector<int>{0, 399, 398, 1, 2, 397, 3, 396, 395, 4, 394, 5}));
  EXPECT_EQ(std::vector<int>(order.end() - 12, order.end()),
            (std::vector<int>{194, 205, 204, 195, 196, 203, 202, 197, 198, 201, 200, 199}));
  int64_t checksum = 0;
  for (int i = 0; i < 400; ++i) checksum += static_cast<int64_t>(order[i]) * (i + 1);
  EXPECT_EQ(checksum % 1000003, 995307);
  EXPECT_TRUE(std::is_sorted(order.begin(), order.end(), [&](int a, int b) { return v[a] < v[b]; }));
}

}  // namespace
}  // namespace dial::internal::tpe
