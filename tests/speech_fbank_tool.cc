// Test/bench helper: computes dial's Kaldi fbank or MFCC of a 16-bit PCM mono WAV and writes it as binary
// (int32 frames, int32 dim, float32 row-major) for tests/python/speech_fbank_compare.py.
// Usage: speech_fbank_tool IN.wav OUT.bin [--mfcc] [--repeat N] [key=value ...]  (keys: FbankOptions names)
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "speech/features/fbank.h"

namespace {

// A tiny RIFF/WAVE reader: PCM 16-bit mono only (what the test writes). Returns false with a message on error.
bool ReadWav16(const std::string& path, std::vector<float>* samples, int* rate, std::string* error) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    *error = "cannot open " + path;
    return false;
  }
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto u32 = [&](size_t p) {
    uint32_t v;
    std::memcpy(&v, &bytes[p], 4);
    return v;
  };
  auto u16 = [&](size_t p) {
    uint16_t v;
    std::memcpy(&v, &bytes[p], 2);
    return v;
  };
  if (bytes.size() < 12 || std::memcmp(bytes.data(), "RIFF", 4) != 0 || std::memcmp(&bytes[8], "WAVE", 4) != 0) {
    *error = path + ": not a RIFF/WAVE file";
    return false;
  }
  size_t p = 12;
  int channels = 0, bits = 0;
  while (p + 8 <= bytes.size()) {
    const uint32_t size = u32(p + 4);
    if (std::memcmp(&bytes[p], "fmt ", 4) == 0) {
      channels = u16(p + 10);
      *rate = static_cast<int>(u32(p + 12));
      bits = u16(p + 22);
    } else if (std::memcmp(&bytes[p], "data", 4) == 0) {
      if (channels != 1 || bits != 16) {
        *error = path + ": only 16-bit mono PCM is supported";
        return false;
      }
      const size_t n = std::min<size_t>(size, bytes.size() - p - 8) / 2;
      samples->resize(n);
      for (size_t i = 0; i < n; ++i) (*samples)[i] = static_cast<int16_t>(u16(p + 8 + 2 * i)) / 32768.0f;
      return true;
    }
    p += 8 + size + (size & 1);
  }
  *error = path + ": no data chunk";
  return false;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace dial::speech;
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s IN.wav OUT.bin [--mfcc] [--repeat N] [key=value ...]\n", argv[0]);
    return 2;
  }
  std::vector<float> samples;
  int rate = 0;
  std::string error;
  if (!ReadWav16(argv[1], &samples, &rate, &error)) {
    std::fprintf(stderr, "%s\n", error.c_str());
    return 1;
  }
  MfccOptions mo;
  FbankOptions fo;
  bool mfcc = false;
  int repeat = 1;
  for (int k = 3; k < argc; ++k) {
    std::string a = argv[k];
    if (a == "--mfcc") {
      mfcc = true;
      continue;
    }
    if (a == "--repeat" && k + 1 < argc) {
      repeat = std::stoi(argv[++k]);
      continue;
    }
    size_t eq = a.find('=');
    if (eq == std::string::npos) {
      std::fprintf(stderr, "bad argument '%s'\n", a.c_str());
      return 2;
    }
    std::string key = a.substr(0, eq), v = a.substr(eq + 1);
    FbankOptions& f = mfcc ? mo.fbank : fo;
    if (key == "frame_length_ms")
      f.frame_length_ms = std::stof(v);
    else if (key == "frame_shift_ms")
      f.frame_shift_ms = std::stof(v);
    else if (key == "window") {
      auto w = ParseWindowType(v);
      if (!w.ok()) {
        std::fprintf(stderr, "%s\n", w.status().ToString().c_str());
        return 2;
      }
      f.window = *w;
    } else if (key == "preemphasis")
      f.preemphasis = std::stof(v);
    else if (key == "remove_dc_offset")
      f.remove_dc_offset = v == "1";
    else if (key == "snip_edges")
      f.snip_edges = v == "1";
    else if (key == "round_to_power_of_two")
      f.round_to_power_of_two = v == "1";
    else if (key == "n_mels")
      f.n_mels = std::stoi(v);
    else if (key == "low_freq")
      f.low_freq = std::stof(v);
    else if (key == "high_freq")
      f.high_freq = std::stof(v);
    else if (key == "energy_floor")
      f.energy_floor = std::stof(v);
    else if (key == "raw_energy")
      f.raw_energy = v == "1";
    else if (key == "use_energy") {
      if (mfcc)
        mo.use_energy = v == "1";
      else
        f.use_energy = v == "1";
    } else if (key == "use_log_fbank")
      f.use_log_fbank = v == "1";
    else if (key == "use_power")
      f.use_power = v == "1";
    else if (key == "dither")
      f.dither = std::stof(v);
    else if (key == "num_ceps")
      mo.num_ceps = std::stoi(v);
    else if (key == "cepstral_lifter")
      mo.cepstral_lifter = std::stof(v);
    else {
      std::fprintf(stderr, "unknown option '%s'\n", key.c_str());
      return 2;
    }
  }
  fo.sample_rate = static_cast<float>(rate);
  mo.fbank.sample_rate = static_cast<float>(rate);
  FeatureMatrix out;
  double seconds = 0.0;
  if (mfcc) {
    auto c = NewMfccComputer(mo);
    if (!c.ok()) {
      std::fprintf(stderr, "%s\n", c.status().ToString().c_str());
      return 1;
    }
    auto t0 = std::chrono::steady_clock::now();
    for (int r = 0; r < repeat; ++r) out = (*c)->Compute(samples);
    seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  } else {
    auto c = NewFbankComputer(fo);
    if (!c.ok()) {
      std::fprintf(stderr, "%s\n", c.status().ToString().c_str());
      return 1;
    }
    out = (*c)->Compute(samples);  // warm-up (allocations), excluded from timing
    auto t0 = std::chrono::steady_clock::now();
    for (int r = 0; r < repeat; ++r) out = (*c)->Compute(samples);
    seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }
  std::FILE* f = std::fopen(argv[2], "wb");
  if (!f) {
    std::fprintf(stderr, "cannot write %s\n", argv[2]);
    return 1;
  }
  int32_t hdr[2] = {out.num_frames, out.dim};
  std::fwrite(hdr, sizeof(int32_t), 2, f);
  std::fwrite(out.data.data(), sizeof(float), out.data.size(), f);
  std::fclose(f);
  // Timing line for bench/speech/run: audio seconds, repeats, compute seconds.
  std::printf("audio_s=%.6f repeat=%d compute_s=%.6f\n", samples.size() / static_cast<double>(rate), repeat, seconds);
  return 0;
}
