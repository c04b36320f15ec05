// The corpus-wide check: opens every entry's audio and lists every problem instead of stopping at the first.
#include <cmath>
#include <cstdio>
#include <map>
#include <set>

#include "speech/audio/audio_info.h"
#include "speech/data/corpus.h"
#include "speech/data/corpus_internal.h"

namespace dial::speech {
namespace {

// The same tolerance ReadAudio applies: Kaldi's extract-segments --max-overshoot (0.5 s).
constexpr double kMaxOvershootSeconds = 0.5;

std::string Seconds(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f s", v);
  return buf;
}

// A status message without the leading "<file>: " that the problem's file column already shows.
std::string WithoutPrefix(const std::string& message, const std::string& file) {
  const std::string prefix = file + ": ";
  return message.compare(0, prefix.size(), prefix) == 0 ? message.substr(prefix.size()) : message;
}

// What opening one recording found: its header, or the problem that stops it from being read.
struct Opened {
  bool ok = false;
  AudioInfo info;
  std::string problem;
  std::vector<uint8_t> bytes;  // a command's output, kept for the full decode of non-WAV audio
};

bool IsWav(const AudioInfo& info) { return info.format.rfind("WAV", 0) == 0; }

}  // namespace

CorpusCheckReport CheckCorpus(const Corpus& corpus, const CheckCorpusOptions& options) {
  CorpusCheckReport report;
  report.n_entries = static_cast<int64_t>(corpus.entries.size());
  std::set<std::string> speakers;
  std::map<std::string, Opened> opened;  // by source: segments of one recording open it once
  for (const CorpusEntry& e : corpus.entries) {
    speakers.insert(e.speaker);
    const std::string source = internal::EntrySource(e);
    auto add = [&](const std::string& message) { report.problems.push_back({e.id, source, message}); };
    if (!e.has_transcript) add("missing transcript");

    auto it = opened.find(source);
    if (it == opened.end()) {
      Opened o;
      Result<AudioInfo> info = InvalidArgument("unset");
      if (!e.command.empty()) {
        if (!options.allow_piped_commands) {
          o.problem = "piped command not run: allow it with --allow-piped (CheckCorpusOptions::allow_piped_commands)";
        } else {
          auto bytes = internal::RunAudioCommand(e.command, "utterance '" + e.id + "'");
          if (bytes.ok()) {
            o.bytes = std::move(bytes).value();
            info = ReadAudioInfoBytes(o.bytes, source);
          } else {
            info = bytes.status();
          }
        }
      } else {
        info = ReadAudioInfo(e.audio_path);
      }
      if (o.problem.empty()) {
        if (!info.ok()) {
          o.problem = "unreadable: " + WithoutPrefix(info.status().message(), source);
          if (info.status().code() == StatusCode::kNotFound) o.problem = "missing audio file";
          if (info.status().message().find("empty") != std::string::npos) {
            o.problem = WithoutPrefix(info.status().message(), source);
          }
        } else if (info->truncated()) {
          o.problem = "truncated: header says " + std::to_string(info->declared_frames) + " frames, file holds " +
                      std::to_string(info->frames);
        } else if (info->frames <= 0) {
          o.problem = "empty: no audio samples";
        } else {
          o.info = *info;
          o.ok = true;
          if (!IsWav(o.info)) {
            // Compressed formats only show a damaged stream when decoded.
            ReadAudioOptions whole;
            auto audio = o.bytes.empty() ? ReadAudio(e.audio_path, whole) : ReadAudioBytes(o.bytes, source, whole);
            if (!audio.ok()) {
              o.ok = false;
              o.problem = WithoutPrefix(audio.status().message(), source);
            }
          }
          o.bytes.clear();
        }
      }
      it = opened.emplace(source, std::move(o)).first;
    }
    const Opened& o = it->second;
    if (!o.ok) {
      add(o.problem);
      continue;
    }
    if (options.expected_sample_rate > 0 && o.info.sample_rate != options.expected_sample_rate) {
      add("rate mismatch: " + std::to_string(o.info.sample_rate) + " Hz, expected " +
          std::to_string(options.expected_sample_rate) + " Hz");
    }
    const double length = o.info.duration_seconds();
    const double end = e.duration_seconds >= 0 ? e.offset_seconds + e.duration_seconds : length;
    if (e.offset_seconds >= length || end > length + kMaxOvershootSeconds) {
      add("segment " + Seconds(e.offset_seconds) + " to " + Seconds(end) + " lies beyond the recording (" +
          Seconds(length) + ")");
      continue;
    }
    report.total_seconds += std::min(end, length) - e.offset_seconds;
  }
  report.n_speakers = static_cast<int64_t>(speakers.size());
  return report;
}

}  // namespace dial::speech
