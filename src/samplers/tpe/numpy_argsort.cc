// numpy's quicksort-kind argsort for float64 (numpy 1.24, npysort/quicksort.cpp: aquicksort_ and aheapsort_),
// rewritten; see numpy_argsort.h for why the exact order of ties matters.
#include "samplers/tpe/numpy_argsort.h"

#include <cmath>
#include <utility>

namespace dial::internal::tpe {
namespace {

// Partitions at most this long (pr − pl) are insertion-sorted.
constexpr int kSmallQuicksort = 15;

// numpy's float ordering: NaN after every number.
inline bool Less(double a, double b) { return a < b || (b != b && a == a); }

// Index of the most significant bit: numpy's depth limit is twice that.
int MostSignificantBit(int n) {
  int depth = 0;
  while (n > 1) n >>= 1, ++depth;
  return depth;
}

// Heapsort of order[lo, lo + n) by v, with numpy's 1-based heap layout.
void HeapArgsort(const double* v, int* order, int n) {
  int* a = order - 1;  // a[1..n]
  for (int l = n >> 1; l > 0; --l) {
    const int tmp = a[l];
    int i = l, j = l << 1;
    while (j <= n) {
      if (j < n && Less(v[a[j]], v[a[j + 1]])) ++j;
      if (!Less(v[tmp], v[a[j]])) break;
      a[i] = a[j];
      i = j;
      j += j;
    }
    a[i] = tmp;
  }
  for (; n > 1;) {
    const int tmp = a[n];
    a[n] = a[1];
    --n;
    int i = 1, j = 2;
    while (j <= n) {
      if (j < n && Less(v[a[j]], v[a[j + 1]])) ++j;
      if (!Less(v[tmp], v[a[j]])) break;
      a[i] = a[j];
      i = j;
      j += j;
    }
    a[i] = tmp;
  }
}

}  // namespace

void NumpyArgsort(const std::vector<double>& values, std::vector<int>* order) {
  const int num = static_cast<int>(values.size());
  order->resize(num);
  for (int i = 0; i < num; ++i) (*order)[i] = i;
  if (num <= 1) return;
  const double* v = values.data();
  int* t = order->data();
  struct Pending {
    int lo, hi, depth;
  };
  std::vector<Pending> stack;
  int pl = 0, pr = num - 1;
  int depth = MostSignificantBit(num) * 2;
  for (;;) {
    if (depth < 0) {
      HeapArgsort(v, t + pl, pr - pl + 1);
    } else {
      while (pr - pl > kSmallQuicksort) {
        // Median of three to the middle, pivot parked at pr − 1, then Hoare partition.
        const int pm = pl + ((pr - pl) >> 1);
        if (Less(v[t[pm]], v[t[pl]])) std::swap(t[pm], t[pl]);
        if (Less(v[t[pr]], v[t[pm]])) std::swap(t[pr], t[pm]);
        if (Less(v[t[pm]], v[t[pl]])) std::swap(t[pm], t[pl]);
        const double pivot = v[t[pm]];
        int pi = pl, pj = pr - 1;
        std::swap(t[pm], t[pj]);
        for (;;) {
          do ++pi;
          while (Less(v[t[pi]], pivot));
          do --pj;
          while (Less(pivot, v[t[pj]]));
          if (pi >= pj) break;
          std::swap(t[pi], t[pj]);
        }
        std::swap(t[pi], t[pr - 1]);
        // The larger side waits on the stack; the smaller one is sorted next.
        --depth;
        if (pi - pl < pr - pi) {
          stack.push_back({pi + 1, pr, depth});
          pr = pi - 1;
        } else {
          stack.push_back({pl, pi - 1, depth});
          pl = pi + 1;
        }
      }
      for (int pi = pl + 1; pi <= pr; ++pi) {
        const int vi = t[pi];
        const double vp = v[vi];
        int pj = pi;
        while (pj > pl && Less(vp, v[t[pj - 1]])) {
          t[pj] = t[pj - 1];
          --pj;
        }
        t[pj] = vi;
      }
    }
    if (stack.empty()) break;
    pl = stack.back().lo, pr = stack.back().hi, depth = stack.back().depth;
    stack.pop_back();
  }
}

}  // namespace dial::internal::tpe
