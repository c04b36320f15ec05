// Real-input FFT of a power-of-two length (iterative radix-2 on a half-length complex FFT), used by the fbank.
#pragma once

#include <complex>
#include <vector>

namespace dial::speech {

// Not thread-safe per instance (it owns scratch space); make one per thread. n must be a power of two >= 4.
class RealFft {
 public:
  explicit RealFft(int n);
  int size() const { return n_; }
  // out[k] = sum_t in[t] e^{-2πi k t / n} for k = 0 .. n/2 (n/2 + 1 values). `in` holds n samples.
  void Forward(const float* in, std::complex<float>* out);
  // |X[k]|^2 for k = 0 .. n/2.
  void PowerSpectrum(const float* in, float* power);

 private:
  void ComplexHalf(const float* in);  // scratch_ = FFT_{n/2}(in[2t] + i in[2t+1])

  int n_;
  int half_;
  std::vector<int> bit_reverse_;               // permutation for the half-length complex FFT
  std::vector<std::complex<float>> twiddles_;  // e^{-2πi k / half} for k < half/2
  std::vector<std::complex<float>> split_;     // e^{-2πi k / n} for k < half, to split the half FFT
  std::vector<std::complex<float>> scratch_;
};

}  // namespace dial::speech
