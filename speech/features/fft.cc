// Real FFT: pack even/odd samples into a complex sequence z of length h = n/2, run an in-place iterative
// radix-2 FFT on it (structure of arrays, per-stage twiddle tables), then split it into the real spectrum:
//   X[k] = E[k] + e^{-2πik/n} O[k],  E[k] = (Z[k] + conj(Z[h-k]))/2,  O[k] = -i (Z[k] - conj(Z[h-k]))/2,
// with Z[h] = Z[0].
#include "speech/features/fft.h"

#include <cassert>
#include <cmath>
#include <numbers>

// The butterfly loops vectorise well; build an AVX2 clone picked at run time, keeping the binary portable.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define DIAL_FFT_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define DIAL_FFT_CLONES
#endif

namespace dial::speech {
namespace {

constexpr int kFirstTableStage = 8;  // stages of length 2 and 4 have trivial twiddles (1, -i)

DIAL_FFT_CLONES void Butterflies(double* __restrict re, double* __restrict im, const double* __restrict tw_re,
                                 const double* __restrict tw_im, int half) {
  // Length 2: twiddle 1.
  for (int s = 0; s < half; s += 2) {
    const double ar = re[s], ai = im[s], br = re[s + 1], bi = im[s + 1];
    re[s] = ar + br;
    im[s] = ai + bi;
    re[s + 1] = ar - br;
    im[s + 1] = ai - bi;
  }
  // Length 4: twiddles 1 and -i.
  for (int s = 0; s < half; s += 4) {
    double ar = re[s], ai = im[s], br = re[s + 2], bi = im[s + 2];
    re[s] = ar + br;
    im[s] = ai + bi;
    re[s + 2] = ar - br;
    im[s + 2] = ai - bi;
    ar = re[s + 1];
    ai = im[s + 1];
    br = im[s + 3];  // (br + i bi)(-i) = bi - i br
    bi = -re[s + 3];
    re[s + 1] = ar + br;
    im[s + 1] = ai + bi;
    re[s + 3] = ar - br;
    im[s + 3] = ai - bi;
  }
  int offset = 0;
  for (int len = kFirstTableStage; len <= half; len <<= 1) {
    const int h = len / 2;
    const double* wr = tw_re + offset;
    const double* wi = tw_im + offset;
    for (int s = 0; s < half; s += len) {
      double* __restrict r0 = re + s;
      double* __restrict i0 = im + s;
      double* __restrict r1 = re + s + h;
      double* __restrict i1 = im + s + h;
      for (int k = 0; k < h; ++k) {
        const double br = r1[k] * wr[k] - i1[k] * wi[k];
        const double bi = r1[k] * wi[k] + i1[k] * wr[k];
        const double ar = r0[k], ai = i0[k];
        r0[k] = ar + br;
        i0[k] = ai + bi;
        r1[k] = ar - br;
        i1[k] = ai - bi;
      }
    }
    offset += h;
  }
}

}  // namespace

RealFft::RealFft(int n) : n_(n), half_(n / 2) {
  assert(n >= 8 && (n & (n - 1)) == 0);
  int bits = 0;
  while ((1 << bits) < half_) ++bits;
  bit_reverse_.resize(half_);
  for (int i = 0; i < half_; ++i) {
    int r = 0;
    for (int b = 0; b < bits; ++b) r |= ((i >> b) & 1) << (bits - 1 - b);
    bit_reverse_[i] = r;
  }
  for (int len = kFirstTableStage; len <= half_; len <<= 1) {
    for (int k = 0; k < len / 2; ++k) {
      const double a = -2.0 * std::numbers::pi * k / len;
      tw_re_.push_back(std::cos(a));
      tw_im_.push_back(std::sin(a));
    }
  }
  split_re_.resize(half_);
  split_im_.resize(half_);
  for (int k = 0; k < half_; ++k) {
    const double a = -2.0 * std::numbers::pi * k / n_;
    split_re_[k] = std::cos(a);
    split_im_[k] = std::sin(a);
  }
  re_.resize(half_);
  im_.resize(half_);
}

void RealFft::ComplexHalf(const double* in) {
  for (int i = 0; i < half_; ++i) {
    re_[bit_reverse_[i]] = in[2 * i];
    im_[bit_reverse_[i]] = in[2 * i + 1];
  }
  Butterflies(re_.data(), im_.data(), tw_re_.data(), tw_im_.data(), half_);
}

void RealFft::Forward(const double* in, std::complex<double>* out) {
  ComplexHalf(in);
  out[0] = {re_[0] + im_[0], 0.0};
  out[half_] = {re_[0] - im_[0], 0.0};
  for (int k = 1; k < half_; ++k) {
    const double ar = re_[k], ai = im_[k], br = re_[half_ - k], bi = -im_[half_ - k];
    const double er = 0.5 * (ar + br), ei = 0.5 * (ai + bi);
    const double orr = 0.5 * (ai - bi), oi = -0.5 * (ar - br);
    out[k] = {er + split_re_[k] * orr - split_im_[k] * oi, ei + split_re_[k] * oi + split_im_[k] * orr};
  }
}

void RealFft::PowerSpectrum(const double* in, double* power) {
  ComplexHalf(in);
  const double dc = re_[0] + im_[0];
  const double nyquist = re_[0] - im_[0];
  power[0] = dc * dc;
  power[half_] = nyquist * nyquist;
  for (int k = 1; k < half_; ++k) {
    const double ar = re_[k], ai = im_[k], br = re_[half_ - k], bi = -im_[half_ - k];
    const double er = 0.5 * (ar + br), ei = 0.5 * (ai + bi);
    const double orr = 0.5 * (ai - bi), oi = -0.5 * (ar - br);
    const double xr = er + split_re_[k] * orr - split_im_[k] * oi;
    const double xi = ei + split_re_[k] * oi + split_im_[k] * orr;
    power[k] = xr * xr + xi * xi;
  }
}

}  // namespace dial::speech
