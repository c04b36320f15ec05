// Corpus readers (Kaldi data directory, NeMo manifest, WeNet data.list), audio loading for one entry (running a
// piped wav.scp command only when allowed) and filling unknown durations from audio headers.
#include "speech/data/corpus.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "speech/audio/audio_info.h"
#include "speech/data/corpus_internal.h"
#include "speech/data/text_file.h"
#include "speech/scoring/scoring.h"
#include "util/strings.h"
#include "util/subprocess.h"

namespace dial::speech {
namespace fs = std::filesystem;

namespace {

constexpr const char* kPipedFlagHint =
    "piped wav.scp commands run only when allowed (ReadCorpusOptions::allow_piped_commands; "
    "`dial corpus check --allow-piped`)";
constexpr size_t kStderrKeepBytes = 2000;  // the tail of a failing command's stderr kept for the message

std::string Where(const std::string& file, size_t line_index) { return file + ":" + std::to_string(line_index + 1); }

// One "<id> <rest>" line of a Kaldi table file.
struct KaldiLine {
  size_t line_index = 0;
  std::string id;
  std::string rest;  // trimmed
};

// Reads a Kaldi table: blank lines skipped, ids unique; `need_rest` makes an id alone on its line an error.
Result<std::vector<KaldiLine>> ReadKaldiTable(const std::string& path, bool need_rest) {
  DIAL_ASSIGN_OR_RETURN(std::string content, ReadTextFile(path));
  std::vector<KaldiLine> out;
  std::set<std::string> seen;
  const auto lines = SplitLines(content);
  for (size_t k = 0; k < lines.size(); ++k) {
    std::string_view line = Trim(lines[k]);
    if (line.empty()) continue;
    const size_t space = line.find_first_of(" \t");
    KaldiLine row;
    row.line_index = k;
    row.id = std::string(line.substr(0, space));
    if (space != std::string_view::npos) row.rest = std::string(Trim(line.substr(space)));
    if (need_rest && row.rest.empty()) {
      return InvalidArgument(Where(path, k) + ": '" + row.id + "' has nothing after its id");
    }
    if (!seen.insert(row.id).second) {
      return InvalidArgument(Where(path, k) + ": id '" + row.id + "' appears twice");
    }
    out.push_back(std::move(row));
  }
  return out;
}

Result<double> ParseSeconds(const std::string& text, const std::string& where, const std::string& what) {
  try {
    size_t used = 0;
    const double v = std::stod(text, &used);
    if (used != text.size() || !std::isfinite(v)) throw std::invalid_argument(text);
    return v;
  } catch (const std::exception&) {
    return InvalidArgument(where + ": " + what + " '" + text + "' is not a number");
  }
}

// wav.scp: "<rec-id> <path>" or "<rec-id> <command> |".
struct Recording {
  std::string path;
  std::string command;
};

Result<std::map<std::string, Recording>> ReadWavScp(const std::string& dir, const std::string& path,
                                                    const ReadCorpusOptions& options) {
  DIAL_ASSIGN_OR_RETURN(auto rows, ReadKaldiTable(path, /*need_rest=*/true));
  std::map<std::string, Recording> out;
  for (const KaldiLine& row : rows) {
    Recording rec;
    if (row.rest.back() == '|') {
      if (!options.allow_piped_commands) {
        return InvalidArgument(Where(path, row.line_index) + ": recording '" + row.id + "' is a piped command; " +
                               kPipedFlagHint);
      }
      rec.command = std::string(Trim(std::string_view(row.rest).substr(0, row.rest.size() - 1)));
      if (rec.command.empty()) return InvalidArgument(Where(path, row.line_index) + ": empty command before '|'");
    } else {
      rec.path = internal::ResolveAudioPath(dir, row.rest);
    }
    out.emplace(row.id, std::move(rec));
  }
  return out;
}

Result<Corpus> ReadKaldiDir(const std::string& dir, const ReadCorpusOptions& options) {
  const fs::path root(dir);
  const std::string wav_scp = (root / "wav.scp").string();
  const std::string text_path = (root / "text").string();
  const std::string utt2spk_path = (root / "utt2spk").string();
  const std::string segments_path = (root / "segments").string();
  std::error_code ec;
  if (!fs::exists(wav_scp, ec)) {
    return NotFound(dir + ": no wav.scp (a Kaldi data directory needs wav.scp and text)");
  }
  if (!fs::exists(text_path, ec)) return NotFound(dir + ": no text file (transcripts: '<utt-id> words...')");
  DIAL_ASSIGN_OR_RETURN(auto recordings, ReadWavScp(dir, wav_scp, options));
  DIAL_ASSIGN_OR_RETURN(auto text_rows, ReadKaldiTable(text_path, /*need_rest=*/false));
  std::map<std::string, std::string> text;
  for (auto& row : text_rows) text.emplace(row.id, std::move(row.rest));
  std::map<std::string, std::string> utt2spk;
  if (fs::exists(utt2spk_path, ec)) {
    DIAL_ASSIGN_OR_RETURN(auto rows, ReadKaldiTable(utt2spk_path, /*need_rest=*/true));
    for (auto& row : rows) utt2spk.emplace(row.id, std::move(row.rest));
  }

  Corpus corpus;
  corpus.source = dir;
  corpus.format = CorpusFormat::kKaldi;
  auto make_entry = [&](const std::string& id, const Recording& rec) {
    CorpusEntry e;
    e.id = id;
    auto spk = utt2spk.find(id);
    e.speaker = spk != utt2spk.end() ? spk->second : ScliteSpeakerOf(id);
    auto t = text.find(id);
    e.has_transcript = t != text.end();
    if (e.has_transcript) e.text = t->second;
    e.audio_path = rec.path;
    e.command = rec.command;
    return e;
  };
  if (fs::exists(segments_path, ec)) {
    // segments: "<utt-id> <rec-id> <start-s> <end-s>"; end -1 means the end of the recording.
    DIAL_ASSIGN_OR_RETURN(auto rows, ReadKaldiTable(segments_path, /*need_rest=*/true));
    for (const KaldiLine& row : rows) {
      const std::string where = Where(segments_path, row.line_index);
      std::istringstream fields(row.rest);
      std::string rec_id, start_text, end_text, extra;
      fields >> rec_id >> start_text >> end_text;
      if (end_text.empty() || (fields >> extra)) {
        return InvalidArgument(where + ": expected '<utt-id> <recording-id> <start-s> <end-s>'");
      }
      auto rec = recordings.find(rec_id);
      if (rec == recordings.end()) {
        return InvalidArgument(where + ": recording '" + rec_id + "' is not in " + wav_scp);
      }
      DIAL_ASSIGN_OR_RETURN(double start, ParseSeconds(start_text, where, "start"));
      DIAL_ASSIGN_OR_RETURN(double end, ParseSeconds(end_text, where, "end"));
      if (start < 0) return InvalidArgument(where + ": start " + start_text + " is negative");
      const bool to_end = end == -1.0;
      if (!to_end && end <= start) {
        return InvalidArgument(where + ": end " + end_text + " is not after start " + start_text);
      }
      CorpusEntry e = make_entry(row.id, rec->second);
      e.offset_seconds = start;
      e.duration_seconds = to_end ? -1.0 : end - start;
      corpus.entries.push_back(std::move(e));
    }
  } else {
    for (const auto& [id, rec] : recordings) corpus.entries.push_back(make_entry(id, rec));
  }
  std::sort(corpus.entries.begin(), corpus.entries.end(),
            [](const CorpusEntry& a, const CorpusEntry& b) { return a.id < b.id; });
  return corpus;
}

// A JSON field as a string: strings as they are, numbers (NeMo speakers are often integers) printed.
std::string JsonText(const nlohmann::json& v) {
  if (v.is_string()) return v.get<std::string>();
  return v.dump();
}

Result<double> JsonSeconds(const nlohmann::json& obj, const char* key, const std::string& where) {
  const auto& v = obj.at(key);
  if (!v.is_number()) return InvalidArgument(where + ": \"" + key + "\" must be a number of seconds");
  const double s = v.get<double>();
  if (!std::isfinite(s) || s < 0) return InvalidArgument(where + ": \"" + key + "\" must be >= 0");
  return s;
}

// NeMo manifest and WeNet data.list: one JSON object per line.
Result<Corpus> ReadJsonLines(const std::string& path, CorpusFormat format) {
  DIAL_ASSIGN_OR_RETURN(std::string content, ReadTextFile(path));
  const std::string dir = fs::path(path).parent_path().string();
  Corpus corpus;
  corpus.source = path;
  corpus.format = format;
  const bool nemo = format == CorpusFormat::kNemo;
  const char* audio_key = nemo ? "audio_filepath" : "wav";
  const char* text_key = nemo ? "text" : "txt";
  std::map<std::string, size_t> first_line_of_id;
  const auto lines = SplitLines(content);
  for (size_t k = 0; k < lines.size(); ++k) {
    std::string_view line = Trim(lines[k]);
    if (line.empty()) continue;
    const std::string where = Where(path, k);
    nlohmann::json obj;
    try {
      obj = nlohmann::json::parse(line);
    } catch (const nlohmann::json::exception& e) {
      return InvalidArgument(where + ": not JSON (" + e.what() + ")");
    }
    if (!obj.is_object()) return InvalidArgument(where + ": expected a JSON object");
    if (!obj.contains(audio_key) || !obj[audio_key].is_string() || obj[audio_key].get<std::string>().empty()) {
      return InvalidArgument(where + ": missing \"" + audio_key + "\" (a string)");
    }
    CorpusEntry e;
    const std::string audio = obj[audio_key].get<std::string>();
    e.audio_path = internal::ResolveAudioPath(dir, audio);
    if (nemo) {
      // NeMo has no utterance id: take "utt_id"/"id" when present, else the audio file's stem.
      if (obj.contains("utt_id")) {
        e.id = JsonText(obj["utt_id"]);
      } else if (obj.contains("id")) {
        e.id = JsonText(obj["id"]);
      } else {
        e.id = fs::path(audio).stem().string();
      }
      if (obj.contains("offset")) {
        DIAL_ASSIGN_OR_RETURN(e.offset_seconds, JsonSeconds(obj, "offset", where));
      }
      if (obj.contains("duration")) {
        DIAL_ASSIGN_OR_RETURN(e.duration_seconds, JsonSeconds(obj, "duration", where));
        if (e.duration_seconds <= 0) return InvalidArgument(where + ": \"duration\" must be > 0");
      }
    } else {
      if (!obj.contains("key")) return InvalidArgument(where + ": missing \"key\" (the utterance id)");
      e.id = JsonText(obj["key"]);
      double start = 0;
      if (obj.contains("start")) {
        DIAL_ASSIGN_OR_RETURN(start, JsonSeconds(obj, "start", where));
      }
      e.offset_seconds = start;
      if (obj.contains("end")) {
        DIAL_ASSIGN_OR_RETURN(double end, JsonSeconds(obj, "end", where));
        if (end <= start) return InvalidArgument(where + ": \"end\" is not after \"start\"");
        e.duration_seconds = end - start;
      }
    }
    if (e.id.empty()) return InvalidArgument(where + ": empty utterance id");
    if (obj.contains(text_key) && !obj[text_key].is_null()) {
      if (!obj[text_key].is_string()) return InvalidArgument(where + ": \"" + text_key + "\" must be a string");
      e.text = obj[text_key].get<std::string>();
    } else {
      e.has_transcript = false;
    }
    if (obj.contains("speaker")) {
      e.speaker = JsonText(obj["speaker"]);
    } else if (obj.contains("spk")) {
      e.speaker = JsonText(obj["spk"]);
    } else {
      e.speaker = ScliteSpeakerOf(e.id);
    }
    auto [it, inserted] = first_line_of_id.emplace(e.id, k);
    if (!inserted) {
      return InvalidArgument(where + ": utterance id '" + e.id + "' already used at line " +
                             std::to_string(it->second + 1) + (nemo ? " (give each line a unique \"utt_id\")" : ""));
    }
    corpus.entries.push_back(std::move(e));
  }
  std::sort(corpus.entries.begin(), corpus.entries.end(),
            [](const CorpusEntry& a, const CorpusEntry& b) { return a.id < b.id; });
  return corpus;
}

// Which JSON-lines format a file holds, from its name and its first non-blank line.
Result<CorpusFormat> SniffJsonLines(const std::string& path) {
  DIAL_ASSIGN_OR_RETURN(std::string content, ReadTextFile(path));
  const auto lines = SplitLines(content);
  for (size_t k = 0; k < lines.size(); ++k) {
    std::string_view line = Trim(lines[k]);
    if (line.empty()) continue;
    nlohmann::json obj = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (obj.is_object() && obj.contains("audio_filepath")) return CorpusFormat::kNemo;
    if (obj.is_object() && obj.contains("key") && obj.contains("wav")) return CorpusFormat::kWenet;
    if (fs::path(path).filename() == "data.list") return CorpusFormat::kWenet;  // its reader names the fault
    return InvalidArgument(Where(path, k) +
                           ": not a corpus: expected a Kaldi data directory, NeMo JSON lines with "
                           "\"audio_filepath\", or a WeNet data.list with \"key\" and \"wav\" (shard lists of "
                           "tar files are not supported)");
  }
  return InvalidArgument(path + ": empty corpus file");
}

}  // namespace

namespace internal {

std::string ResolveAudioPath(const std::string& dir, const std::string& path) {
  const fs::path p(path);
  if (p.is_absolute() || dir.empty()) return p.lexically_normal().string();
  const fs::path base(dir);
  const fs::path in_dir = (base / p).lexically_normal();
  std::error_code ec;
  if (fs::exists(in_dir, ec)) return in_dir.string();
  // dial's corpus layout keeps DIR/train/wav.scp's paths relative to DIR (the WAVs sit in DIR/wav/).
  const fs::path parent = fs::absolute(base, ec).lexically_normal().parent_path();
  const fs::path in_parent = (parent / p).lexically_normal();
  if (!parent.empty() && fs::exists(in_parent, ec)) return in_parent.string();
  return in_dir.string();
}

Result<std::vector<uint8_t>> RunAudioCommand(const std::string& command, const std::string& what) {
  Result<CapturedRun> run = RunShellCapturing(command, kStderrKeepBytes);
  if (!run.ok()) return IoError(what + ": " + run.status().message());
  if (!run->exit.success()) {
    const std::string reason = run->exit.signaled ? "killed by signal " + std::to_string(run->exit.signal)
                                                  : "exit status " + std::to_string(run->exit.code);
    std::string tail(Trim(run->stderr_tail));
    const auto nl = tail.rfind('\n');
    if (nl != std::string::npos) tail = tail.substr(nl + 1);  // the last line says the most
    return InvalidArgument(what + ": command '" + command + "' failed (" + reason + ")" +
                           (tail.empty() ? "" : ": " + tail));
  }
  return std::move(run->stdout_bytes);
}

std::string EntrySource(const CorpusEntry& entry) {
  return entry.command.empty() ? entry.audio_path : entry.command + " |";
}

}  // namespace internal

Result<Corpus> ReadCorpus(const std::string& path, const ReadCorpusOptions& options) {
  std::error_code ec;
  if (!fs::exists(path, ec)) return NotFound(path + ": no such corpus directory or file");
  if (fs::is_directory(path, ec)) return ReadKaldiDir(path, options);
  DIAL_ASSIGN_OR_RETURN(CorpusFormat format, SniffJsonLines(path));
  return ReadJsonLines(path, format);
}

Result<Waveform> LoadAudio(const CorpusEntry& entry, const ReadAudioOptions& options, bool allow_piped_commands) {
  // The entry's span comes first; options' offset is relative to it and options' duration (when set) replaces
  // the entry's.
  ReadAudioOptions span = options;
  span.offset_seconds = entry.offset_seconds + options.offset_seconds;
  span.duration_seconds = options.duration_seconds >= 0 ? options.duration_seconds : entry.duration_seconds;
  const std::string what = "utterance '" + entry.id + "'";
  if (!entry.command.empty()) {
    if (!allow_piped_commands) return InvalidArgument(what + ": " + kPipedFlagHint);
    DIAL_ASSIGN_OR_RETURN(std::vector<uint8_t> bytes, internal::RunAudioCommand(entry.command, what));
    auto audio = ReadAudioBytes(bytes, "command '" + entry.command + " |'", span);
    if (!audio.ok()) return audio.status().WithContext(what);
    return audio;
  }
  auto audio = ReadAudio(entry.audio_path, span);
  if (!audio.ok()) return audio.status().WithContext(what);
  return audio;
}

Status FillDurations(Corpus* corpus, bool allow_piped_commands) {
  std::map<std::string, AudioInfo> info_by_source;  // segments share recordings: open each once
  std::vector<Status> errors;
  for (CorpusEntry& e : corpus->entries) {
    if (e.duration_seconds >= 0) continue;
    const std::string source = internal::EntrySource(e);
    const std::string what = "utterance '" + e.id + "'";
    auto it = info_by_source.find(source);
    if (it == info_by_source.end()) {
      Result<AudioInfo> info = InvalidArgument("unset");
      if (!e.command.empty()) {
        if (!allow_piped_commands) {
          errors.push_back(InvalidArgument(what + ": " + kPipedFlagHint));
          continue;
        }
        auto bytes = internal::RunAudioCommand(e.command, what);
        info = bytes.ok() ? ReadAudioInfoBytes(*bytes, source) : Result<AudioInfo>(bytes.status());
      } else {
        info = ReadAudioInfo(e.audio_path);
      }
      if (!info.ok()) {
        errors.push_back(info.status().WithContext(what));
        continue;
      }
      it = info_by_source.emplace(source, *info).first;
    }
    const double total = it->second.duration_seconds();
    if (e.offset_seconds >= total) {
      errors.push_back(InvalidArgument(what + ": " + source + ": offset " + std::to_string(e.offset_seconds) +
                                       " s is past the end of the recording (" + std::to_string(total) + " s)"));
      continue;
    }
    e.duration_seconds = total - e.offset_seconds;
  }
  if (errors.empty()) return Status::Ok();
  Status first = errors.front();
  if (errors.size() == 1) return first;
  return Status(first.code(),
                first.message() + " (and " + std::to_string(errors.size() - 1) + " more entries without a duration)");
}

}  // namespace dial::speech
