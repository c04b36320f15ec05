// Real FFT: pack even/odd samples into a complex sequence of length n/2, run an in-place iterative radix-2
// FFT on it, then split it into the spectrum of the real input:
//   X[k] = (Z[k] + conj(Z[h-k]))/2 - i e^{-2πik/n} (Z[k] - conj(Z[h-k]))/2,   h = n/2, Z[h] = Z[0].
#include "speech/features/fft.h"

#include <cassert>
#include <cmath>
#include <numbers>

namespace dial::speech {

RealFft::RealFft(int n) : n_(n), half_(n / 2) {
  assert(n >= 4 && (n & (n - 1)) == 0);
  int bits = 0;
  while ((1 << bits) < half_) ++bits;
  bit_reverse_.resize(half_);
  for (int i = 0; i < half_; ++i) {
    int r = 0;
    for (int b = 0; b < bits; ++b) r |= ((i >> b) & 1) << (bits - 1 - b);
    bit_reverse_[i] = r;
  }
  // Twiddles computed in double, stored in float: keeps the rounding error at float's level, not worse.
  twiddles_.resize(std::max(1, half_ / 2));
  for (int k = 0; k < half_ / 2; ++k) {
    double a = -2.0 * std::numbers::pi * k / half_;
    twiddles_[k] = {static_cast<float>(std::cos(a)), static_cast<float>(std::sin(a))};
  }
  split_.resize(half_);
  for (int k = 0; k < half_; ++k) {
    double a = -2.0 * std::numbers::pi * k / n_;
    split_[k] = {static_cast<float>(std::cos(a)), static_cast<float>(std::sin(a))};
  }
  scratch_.resize(half_);
}

void RealFft::ComplexHalf(const float* in) {
  std::complex<float>* z = scratch_.data();
  for (int i = 0; i < half_; ++i) z[bit_reverse_[i]] = {in[2 * i], in[2 * i + 1]};
  // Butterflies on split real/imaginary arithmetic so the compiler can vectorise the inner loop.
  for (int len = 2; len <= half_; len <<= 1) {
    const int step = half_ / len;
    const int h = len / 2;
    for (int start = 0; start < half_; start += len) {
      for (int k = 0; k < h; ++k) {
        const std::complex<float> w = twiddles_[k * step];
        const std::complex<float> a = z[start + k];
        const std::complex<float> b0 = z[start + k + h];
        const float br = b0.real() * w.real() - b0.imag() * w.imag();
        const float bi = b0.real() * w.imag() + b0.imag() * w.real();
        z[start + k] = {a.real() + br, a.imag() + bi};
        z[start + k + h] = {a.real() - br, a.imag() - bi};
      }
    }
  }
}

void RealFft::Forward(const float* in, std::complex<float>* out) {
  ComplexHalf(in);
  const std::complex<float>* z = scratch_.data();
  out[0] = {z[0].real() + z[0].imag(), 0.0f};
  out[half_] = {z[0].real() - z[0].imag(), 0.0f};
  for (int k = 1; k < half_; ++k) {
    const std::complex<float> a = z[k];
    const std::complex<float> b = std::conj(z[half_ - k]);
    const std::complex<float> even = 0.5f * (a + b);
    const std::complex<float> odd = std::complex<float>(0.0f, -0.5f) * (a - b);
    out[k] = even + split_[k] * odd;
  }
}

void RealFft::PowerSpectrum(const float* in, float* power) {
  ComplexHalf(in);
  const std::complex<float>* z = scratch_.data();
  const float dc = z[0].real() + z[0].imag();
  const float nyquist = z[0].real() - z[0].imag();
  power[0] = dc * dc;
  power[half_] = nyquist * nyquist;
  for (int k = 1; k < half_; ++k) {
    const float ar = z[k].real(), ai = z[k].imag();
    const float br = z[half_ - k].real(), bi = -z[half_ - k].imag();
    const float er = 0.5f * (ar + br), ei = 0.5f * (ai + bi);
    // odd = -i/2 (a - b)
    const float orr = 0.5f * (ai - bi), oi = -0.5f * (ar - br);
    const float wr = split_[k].real(), wi = split_[k].imag();
    const float xr = er + wr * orr - wi * oi;
    const float xi = ei + wr * oi + wi * orr;
    power[k] = xr * xr + xi * xi;
  }
}

}  // namespace dial::speech
