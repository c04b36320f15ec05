// Shared by the C++ benchmark drivers: run independent tasks on a few threads and print one JSON line per task,
// whole lines only, in the order the tasks finish.
#pragma once

#include <atomic>
#include <cstddef>
#include <iostream>
#include <mutex>
#include <thread>
#include <vector>

#include "dial/frozen_trial.h"

namespace dial::bench {

// Calls `line(i)` for i in [0, n_tasks) on `threads` threads and prints each returned JSON object.
template <typename LineFn>
void PrintJsonLinesInParallel(size_t n_tasks, int threads, LineFn line) {
  std::atomic<size_t> next{0};
  std::mutex out_mu;
  auto work = [&] {
    for (size_t i = next++; i < n_tasks; i = next++) {
      const dial::Json json = line(i);
      std::lock_guard<std::mutex> lock(out_mu);
      std::cout << json.dump() << std::endl;
    }
  };
  std::vector<std::thread> pool;
  for (int i = 0; i < threads; ++i) pool.emplace_back(work);
  for (auto& th : pool) th.join();
}

}  // namespace dial::bench
