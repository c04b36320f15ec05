// Real-input FFT of a power-of-two length (iterative radix-2 on a half-length complex FFT), used by the fbank.
// Double precision: torchaudio's float32 pipeline is itself off by up to ~1e-2 in low-energy mel bins, so we
// compute closer to the exact value rather than inherit float rounding.
#pragma once

#include <complex>
#include <vector>

namespace dial::speech {

// Not thread-safe per instance (it owns scratch space); make one per thread. n must be a power of two >= 8.
class RealFft {
 public:
  explicit RealFft(int n);
  int size() const { return n_; }
  // out[k] = sum_t in[t] e^{-2πi k t / n} for k = 0 .. n/2 (n/2 + 1 values). `in` holds n samples.
  void Forward(const double* in, std::complex<double>* out);
  // |X[k]|^2 for k = 0 .. n/2.
  void PowerSpectrum(const double* in, double* power);

 private:
  void ComplexHalf(const double* in);  // (re_, im_) = FFT_{n/2}(in[2t] + i in[2t+1])

  int n_;
  int half_;
  std::vector<int> bit_reverse_;  // permutation for the half-length complex FFT
  // Twiddles of each stage of length len >= 8, contiguous so the butterfly loop runs unit-stride:
  // e^{-2πi k / len} for k < len/2, stage tables concatenated in increasing len.
  std::vector<double> tw_re_, tw_im_;
  std::vector<double> split_re_, split_im_;  // e^{-2πi k / n} for k < n/2, to split the half FFT
  std::vector<double> re_, im_;              // scratch, structure of arrays for vectorisation
};

}  // namespace dial::speech
