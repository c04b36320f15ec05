// Test helper: writes a small synthetic corpus (Kaldi data dirs train/dev/test under one directory) whose
// "words" are tones, so that a tiny model can learn it in seconds. For speech/asr tests only.
#pragma once

#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "speech/audio/audio.h"

namespace dial::speech::testing {

struct ToneWord {
  const char* text;
  double hz;
};
inline const std::vector<ToneWord>& ToneWords() {
  static const std::vector<ToneWord> words = {{"ba", 300.0}, {"di", 800.0}, {"ku", 1800.0}};
  return words;
}

// Writes DIR/{train,dev,test} with `per_speaker` utterances for each of `speakers` speakers per set, 16 kHz,
// 3 words of 0.3 s each, separated by 0.1 s of low noise. Returns false on an I/O error.
inline bool WriteToneCorpus(const std::string& dir, int speakers, int per_speaker, uint64_t seed = 1) {
  namespace fs = std::filesystem;
  constexpr int kRate = 16000;
  constexpr double kWordSeconds = 0.3;
  constexpr double kGapSeconds = 0.1;
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> noise(0.0f, 0.003f);
  fs::create_directories(fs::path(dir) / "wav");
  for (const char* set : {"train", "dev", "test"}) {
    const fs::path set_dir = fs::path(dir) / set;
    fs::create_directories(set_dir);
    std::ofstream wav_scp(set_dir / "wav.scp"), text(set_dir / "text"), utt2spk(set_dir / "utt2spk");
    for (int s = 0; s < speakers; ++s) {
      const std::string speaker = std::string(set) + "spk" + std::to_string(s);
      const double pitch = 1.0 + 0.05 * s;  // speakers differ a little
      for (int u = 0; u < per_speaker; ++u) {
        const std::string id = speaker + "-" + std::to_string(1000 + u);
        Waveform audio;
        audio.sample_rate = kRate;
        std::string words;
        auto gap = [&] {
          for (int i = 0; i < static_cast<int>(kGapSeconds * kRate); ++i) audio.samples.push_back(noise(rng));
        };
        gap();
        for (int w = 0; w < 3; ++w) {
          const ToneWord& word = ToneWords()[rng() % ToneWords().size()];
          words += (w ? " " : "") + std::string(word.text);
          for (int i = 0; i < static_cast<int>(kWordSeconds * kRate); ++i) {
            const double t = static_cast<double>(i) / kRate;
            audio.samples.push_back(static_cast<float>(0.3 * std::sin(2 * M_PI * word.hz * pitch * t)) + noise(rng));
          }
          gap();
        }
        const std::string path = (fs::path(dir) / "wav" / (id + ".wav")).string();
        if (!WriteWav(path, audio).ok()) return false;
        wav_scp << id << " " << path << "\n";
        text << id << " " << words << "\n";
        utt2spk << id << " " << speaker << "\n";
      }
    }
  }
  return true;
}

inline std::string TestTempDir(const std::string& name) {
  const auto dir = std::filesystem::temp_directory_path() / ("dial_asr_" + name + "_" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir.string();
}

}  // namespace dial::speech::testing
