// Corpus synthesis with espeak-ng and flite (see synth.h). Every utterance is planned from (seed, index) alone
// and rendered by a pure function of its plan, so the workers' scheduling never changes a byte of the output.
#include "speech/corpus/synth.h"

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <thread>

#include "speech/audio/audio.h"
#include "speech/augment/waveform_augment.h"
#include "src/exec/subprocess.h"
#include "src/samplers/random_util.h"

extern char** environ;

namespace dial::speech {
namespace {

namespace fs = std::filesystem;
using internal::SplitMix64;
using internal::StreamSeed;
using internal::UniformIndex;
using internal::UniformUnit;

constexpr const char* kEspeakAccents[] = {"en-us",          "en-gb",          "en-gb-scotland", "en-gb-x-rp",
                                          "en-gb-x-gbclan", "en-gb-x-gbcwmd", "en-029",         "en-us-nyc"};
// The variants used by the default pool; the parser also knows m8 (a near-duplicate of m7, left out of the pool).
constexpr const char* kEspeakPoolVariants[] = {"m1", "m2", "m3", "m4", "m5", "m6", "m7", "f1", "f2", "f3", "f4", "f5"};
constexpr const char* kEspeakExtraVariants[] = {"m8"};
// kal16 is the 16 kHz build of kal (kal itself is 8 kHz and is upsampled when asked for).
constexpr const char* kFliteVoices[] = {"awb", "kal16", "rms", "slt", "kal"};
constexpr int kFlitePoolVoices = 4;

constexpr const char* kSplitNames[] = {"train", "dev", "test"};
constexpr int kNumSplits = 3;

constexpr int kMinSampleRate = 8000;
constexpr int kMaxSampleRate = 48000;
constexpr int kMinSpeakers = 3;
constexpr double kAutoSpeakersPerHour = 60.0;
constexpr int kAutoMinSpeakers = 10;

// Per-speaker prosody, drawn from the seed: espeak-ng -s (words per minute; its default is 175) and -p (0..99,
// default 50); flite's duration_stretch (> 1 is slower).
constexpr int kMinEspeakRate = 135;
constexpr int kMaxEspeakRate = 195;
constexpr int kMinEspeakPitch = 25;
constexpr int kMaxEspeakPitch = 75;
constexpr double kMinFliteStretch = 0.85;
constexpr double kMaxFliteStretch = 1.2;

constexpr int kMinDigits = 1;
constexpr int kMaxDigits = 7;
constexpr double kMinSilenceSeconds = 0.05;
// The speech's peak level in dBFS, drawn per utterance, and the ceiling a noisy mix is scaled under.
constexpr double kMinPeakDb = -12.0;
constexpr double kMaxPeakDb = -3.0;
constexpr float kMaxPeak = 0.97f;
// TTS output is trimmed to where |x| first and last exceeds this fraction of its peak, so that the silence
// around each utterance is the drawn jitter, not the engine's own padding.
constexpr float kTrimFraction = 0.01f;
// Babble: per split, this many synthetic sentences; each babble noise sums 3..5 of them at random offsets.
constexpr int kBabbleSources = 6;
constexpr int kMinBabbleTalkers = 3;
constexpr int kMaxBabbleTalkers = 5;
constexpr int kPhrasesPerBabbleSource = 4;
// Planning: the first estimate of an utterance's length, before any has been measured.
constexpr double kInitialSecondsPerUtterance = 2.0;
constexpr auto kProgressInterval = std::chrono::milliseconds(100);

const char* const kDigitWords[] = {"zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"};

// The command phrases: ~40 words besides the digits, in fixed order.
const std::vector<std::string>& CommandPhrases() {
  static const std::vector<std::string> phrases = [] {
    std::vector<std::string> p;
    for (const char* device : {"lights", "radio", "fan", "heater", "television"}) {
      p.push_back(std::string("turn on the ") + device);
      p.push_back(std::string("turn off the ") + device);
    }
    for (const char* dir : {"left", "right", "up", "down", "forward", "back", "home"})
      p.push_back(std::string("go ") + dir);
    for (const char* word :
         {"stop", "start", "pause", "resume", "yes", "no", "cancel", "help", "repeat", "next", "previous"}) {
      p.push_back(word);
    }
    for (const char* thing : {"door", "window"}) {
      p.push_back(std::string("open the ") + thing);
      p.push_back(std::string("close the ") + thing);
    }
    p.push_back("volume up");
    p.push_back("volume down");
    for (const char* thing : {"timer", "alarm"}) {
      for (int d = 1; d <= 9; ++d) p.push_back(std::string("set the ") + thing + " for " + kDigitWords[d] + " minutes");
    }
    p.push_back("play music");
    p.push_back("call home");
    return p;
  }();
  return phrases;
}

int UniformInt(SplitMix64& rng, int lo, int hi) {
  return lo + static_cast<int>(UniformIndex(rng, static_cast<uint64_t>(hi - lo) + 1));
}
double UniformReal(SplitMix64& rng, double lo, double hi) { return lo + (hi - lo) * UniformUnit(rng); }

// TIDIGITS-like: 1..7 digits, zero spoken as "zero" or "oh" with equal chance.
std::string DigitString(SplitMix64& rng) {
  const int n = UniformInt(rng, kMinDigits, kMaxDigits);
  std::string text;
  for (int i = 0; i < n; ++i) {
    const int d = UniformInt(rng, 0, 9);
    const char* word = d == 0 && UniformIndex(rng, 2) == 1 ? "oh" : kDigitWords[d];
    text += (i ? " " : "") + std::string(word);
  }
  return text;
}

std::string DrawText(SplitMix64& rng, double digit_fraction) {
  if (UniformUnit(rng) < digit_fraction) return DigitString(rng);
  const auto& phrases = CommandPhrases();
  return phrases[UniformIndex(rng, phrases.size())];
}

struct Speaker {
  std::string id;
  SynthVoice voice;
  int rate = 0;          // espeak-ng -s
  int pitch = 0;         // espeak-ng -p
  double stretch = 1.0;  // flite duration_stretch
  int split = 0;
};

struct UtterancePlan {
  int64_t index = 0;
  std::string id;
  int speaker = 0;  // into the speaker list
  std::string text;
  bool noisy = false;
  std::string noise_type;
  double snr_db = 0;
  double lead_seconds = 0;
  double trail_seconds = 0;
  double peak_db = 0;
  uint64_t noise_seed = 0;
};

struct UtteranceResult {
  double seconds = 0;
  Status status;
};

std::string SpeakerIdFor(const SynthVoice& v) {
  std::string id = v.engine == SynthVoice::Engine::kFlite ? "flite-" + v.name : v.name;
  std::replace(id.begin(), id.end(), '+', '-');
  return id;
}

Result<std::string> FindProgram(const std::string& program, const std::string& package) {
  auto missing = [&] {
    return FailedPrecondition(program + " not found (needed to synthesise the corpus): install the Debian package " +
                              package + " (apt-get install " + package + ")");
  };
  auto executable = [](const std::string& path) {
    struct stat st {};
    return stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && access(path.c_str(), X_OK) == 0;
  };
  if (program.find('/') != std::string::npos) {
    if (executable(program)) return program;
    return missing();
  }
  const char* path_env = std::getenv("PATH");
  const std::string path = path_env != nullptr && *path_env != '\0' ? path_env : "/usr/local/bin:/usr/bin:/bin";
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find(':', start);
    if (end == std::string::npos) end = path.size();
    std::string dir = path.substr(start, end - start);
    const std::string candidate = (dir.empty() ? std::string(".") : dir) + "/" + program;
    if (executable(candidate)) return candidate;
    start = end + 1;
  }
  return missing();
}

std::vector<std::string> Environment() {
  std::vector<std::string> env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) env.emplace_back(*e);
  return env;
}

// Runs argv (argv[0] = the resolved program) without a shell; IoError with its stderr when it fails.
Result<std::string> RunProgram(const std::vector<std::string>& argv, const std::vector<std::string>& env) {
  SpawnOptions spawn;
  spawn.executable = argv[0];
  spawn.argv = argv;
  spawn.env = env;
  DIAL_ASSIGN_OR_RETURN(auto child, Subprocess::Spawn(spawn));
  std::string out, err;
  while (!child->output_closed()) {
    child->ReadOutput(std::chrono::milliseconds(1000), [&](OutputStream s, std::string_view line) {
      (s == OutputStream::kStdout ? out : err).append(line).append("\n");
    });
  }
  ExitInfo info = child->Wait();
  if (!info.success()) {
    std::string cmd;
    for (const auto& a : argv) cmd += (cmd.empty() ? "" : " ") + a;
    return IoError(cmd + ": " + info.Describe() + (err.empty() ? "" : ": " + err.substr(0, 500)));
  }
  return out;
}

// Everything a worker needs, read-only once the workers start.
struct Context {
  const SynthOptions* options = nullptr;
  std::string espeak;  // resolved paths ("" when not needed)
  std::string flite;
  std::vector<std::string> env;
  std::vector<Speaker> speakers;
  fs::path tmp_dir;                                    // the corpus being built
  fs::path work_dir;                                   // scratch for the engines' output
  std::vector<std::vector<float>> babble[kNumSplits];  // unit-power sources per split
  std::atomic<bool> cancelled{false};
};

// Synthesises `text` with the speaker's voice and returns it at the corpus rate, trimmed of its edge silence.
Result<Waveform> Speak(const Context& ctx, const Speaker& spk, const std::string& text, const std::string& name) {
  const std::string wav = (ctx.work_dir / (name + ".wav")).string();
  std::vector<std::string> argv;
  if (spk.voice.engine == SynthVoice::Engine::kEspeak) {
    argv = {ctx.espeak, "-v", spk.voice.name, "-s", std::to_string(spk.rate), "-p", std::to_string(spk.pitch), "-w",
            wav,        text};
  } else {
    char stretch[32];
    std::snprintf(stretch, sizeof stretch, "duration_stretch=%.3f", spk.stretch);
    argv = {ctx.flite, "-voice", spk.voice.name, "--setf", stretch, "-t", text, "-o", wav};
  }
  DIAL_RETURN_IF_ERROR(RunProgram(argv, ctx.env).status());
  ReadAudioOptions read;
  read.target_sample_rate = ctx.options->sample_rate;
  read.allow_upsampling = true;  // a corpus at 22.05 or 48 kHz from 16 kHz voices is asked for explicitly
  Result<Waveform> audio = ReadAudio(wav, read);
  std::error_code ignored;
  fs::remove(wav, ignored);
  if (!audio.ok()) return audio.status().WithContext("reading the output of " + argv[0] + " for '" + text + "'");
  float peak = 0;
  for (float x : audio->samples) peak = std::max(peak, std::abs(x));
  if (peak <= 0) return IoError(argv[0] + " produced silence for '" + text + "' with voice " + spk.voice.ToString());
  const float threshold = kTrimFraction * peak;
  size_t first = 0, last = audio->samples.size();
  while (first < last && std::abs(audio->samples[first]) < threshold) ++first;
  while (last > first && std::abs(audio->samples[last - 1]) < threshold) --last;
  audio->samples = std::vector<float>(audio->samples.begin() + first, audio->samples.begin() + last);
  return audio;
}

UtterancePlan PlanUtterance(const SynthOptions& o, const std::vector<Speaker>& speakers,
                            const std::vector<int>& speaker_order, int64_t index) {
  UtterancePlan p;
  p.index = index;
  p.speaker = speaker_order[static_cast<size_t>(index % static_cast<int64_t>(speaker_order.size()))];
  SplitMix64 rng(StreamSeed(o.seed, index, "utterance"));
  p.text = DrawText(rng, o.digit_fraction);
  p.noisy = !o.snr_db.empty() && !o.noise_types.empty() && UniformUnit(rng) >= o.clean_fraction;
  p.noise_type = o.noise_types.empty() ? "" : o.noise_types[UniformIndex(rng, o.noise_types.size())];
  p.snr_db = o.snr_db.empty() ? 0.0 : o.snr_db[UniformIndex(rng, o.snr_db.size())];
  const double max_silence = std::max(kMinSilenceSeconds, o.max_silence_seconds);
  p.lead_seconds = UniformReal(rng, kMinSilenceSeconds, max_silence);
  p.trail_seconds = UniformReal(rng, kMinSilenceSeconds, max_silence);
  p.peak_db = UniformReal(rng, kMinPeakDb, kMaxPeakDb);
  p.noise_seed = rng();
  char id[32];
  std::snprintf(id, sizeof id, "-%06lld", static_cast<long long>(index));
  p.id = speakers[p.speaker].id + id;
  return p;
}

UtteranceResult RenderUtterance(const Context& ctx, const UtterancePlan& p) {
  UtteranceResult result;
  const Speaker& spk = ctx.speakers[p.speaker];
  Result<Waveform> speech = Speak(ctx, spk, p.text, p.id);
  if (!speech.ok()) {
    result.status = speech.status().WithContext("utterance " + p.id);
    return result;
  }
  const int rate = ctx.options->sample_rate;
  float peak = 0;
  for (float x : speech->samples) peak = std::max(peak, std::abs(x));
  const float gain = static_cast<float>(std::pow(10.0, p.peak_db / 20.0) / peak);
  const size_t lead = static_cast<size_t>(std::lround(p.lead_seconds * rate));
  const size_t trail = static_cast<size_t>(std::lround(p.trail_seconds * rate));
  Waveform out;
  out.sample_rate = rate;
  out.samples.assign(lead + speech->samples.size() + trail, 0.0f);
  for (size_t i = 0; i < speech->samples.size(); ++i) out.samples[lead + i] = gain * speech->samples[i];
  if (p.noisy) {
    // The SNR refers to the speech's power over its own span, not diluted by the silence around it.
    const double speech_power = MeanPower(std::span<const float>(out.samples).subspan(lead, speech->samples.size()));
    std::mt19937_64 noise_rng(p.noise_seed);
    std::vector<float> noise;
    if (p.noise_type == "babble") {
      SplitMix64 pick(p.noise_seed);
      const auto& sources = ctx.babble[spk.split];
      noise.assign(out.samples.size(), 0.0f);
      const int talkers = UniformInt(pick, kMinBabbleTalkers, kMaxBabbleTalkers);
      for (int t = 0; t < talkers; ++t) {
        const auto& src = sources[UniformIndex(pick, sources.size())];
        size_t pos = UniformIndex(pick, src.size());
        for (float& x : noise) {
          x += src[pos];
          if (++pos == src.size()) pos = 0;
        }
      }
    } else {
      noise =
          GenerateNoise(p.noise_type == "pink" ? NoiseType::kPink : NoiseType::kWhite, out.samples.size(), noise_rng);
    }
    const double noise_power = MeanPower(noise);
    if (noise_power > 0) {
      // g = √(P_speech / (P_noise · 10^(SNR/10))), as MixNoise, but with P_speech over the speech's span.
      const double g = std::sqrt(speech_power / (noise_power * std::pow(10.0, p.snr_db / 10.0)));
      for (size_t i = 0; i < noise.size(); ++i) out.samples[i] += static_cast<float>(g * noise[i]);
    }
    float mix_peak = 0;
    for (float x : out.samples) mix_peak = std::max(mix_peak, std::abs(x));
    if (mix_peak > kMaxPeak) {
      for (float& x : out.samples) x *= kMaxPeak / mix_peak;  // scaling both keeps the SNR
    }
  }
  const fs::path path = ctx.tmp_dir / "wav" / (p.id + ".wav");
  result.status = WriteWav(path.string(), out);
  if (!result.status.ok()) result.status = result.status.WithContext("utterance " + p.id);
  result.seconds = out.duration_seconds();
  return result;
}

// Runs fn(i) for i in [0, n) on `jobs` threads. Reports progress and checks for cancellation from this thread.
// Returns the first error in index order.
template <typename Fn>
Status ParallelFor(Context& ctx, int64_t n, int jobs, Fn fn, const std::function<bool(int64_t)>& tick) {
  std::atomic<int64_t> next{0};
  std::atomic<int64_t> done{0};
  std::vector<Status> errors(static_cast<size_t>(n));
  std::vector<std::thread> threads;
  const int nthreads = static_cast<int>(std::min<int64_t>(jobs, std::max<int64_t>(n, 1)));
  for (int t = 0; t < nthreads; ++t) {
    threads.emplace_back([&] {
      for (int64_t i = next++; i < n && !ctx.cancelled.load(); i = next++) {
        errors[static_cast<size_t>(i)] = fn(i);
        if (!errors[static_cast<size_t>(i)].ok()) ctx.cancelled = true;  // stop early; the error is reported
        ++done;
      }
    });
  }
  while (done.load() < n && !ctx.cancelled.load()) {
    std::this_thread::sleep_for(kProgressInterval);
    if (tick && !tick(done.load())) ctx.cancelled = true;
  }
  for (auto& th : threads) th.join();
  for (const Status& s : errors) {
    if (!s.ok()) return s;
  }
  if (ctx.cancelled.load()) return Cancelled("corpus synthesis cancelled");
  return Status::Ok();
}

std::string WithNewline(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& l : lines) out += l + "\n";
  return out;
}

Status WriteTextFile(const fs::path& path, const std::string& content) {
  std::ofstream f(path, std::ios::binary);
  f << content;
  f.close();
  if (!f) return IoError(path.string() + ": cannot write");
  return Status::Ok();
}

std::string FormatSnr(double snr) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", snr);
  return buf;
}

// Reports how many utterances and seconds of audio are done; false when the caller cancels.
using ReportFn = std::function<bool(int64_t utterances, double seconds)>;

// Babble sources for each split, spoken by that split's own speakers, into ctx.babble.
Status SynthesizeBabble(Context& ctx, int jobs, const ReportFn& report) {
  const SynthOptions& o = *ctx.options;
  std::vector<std::pair<int, int>> jobs_list;  // (split, source)
  for (int s = 0; s < kNumSplits; ++s) {
    ctx.babble[s].resize(kBabbleSources);
    for (int k = 0; k < kBabbleSources; ++k) jobs_list.emplace_back(s, k);
  }
  return ParallelFor(
      ctx, static_cast<int64_t>(jobs_list.size()), jobs,
      [&](int64_t i) -> Status {
        const auto [split, k] = jobs_list[static_cast<size_t>(i)];
        std::vector<int> members;
        for (size_t j = 0; j < ctx.speakers.size(); ++j) {
          if (ctx.speakers[j].split == split) members.push_back(static_cast<int>(j));
        }
        SplitMix64 rng(StreamSeed(o.seed, split * kBabbleSources + k, "babble"));
        const Speaker& spk = ctx.speakers[members[UniformIndex(rng, members.size())]];
        std::string text;
        for (int q = 0; q < kPhrasesPerBabbleSource; ++q) text += (q ? " " : "") + DrawText(rng, 0.5);
        DIAL_ASSIGN_OR_RETURN(Waveform w, Speak(ctx, spk, text, "babble-" + std::to_string(i)));
        const double power = MeanPower(w.samples);
        const float scale = static_cast<float>(1.0 / std::sqrt(power));
        for (float& x : w.samples) x *= scale;
        ctx.babble[split][k] = std::move(w.samples);
        return Status::Ok();
      },
      [&](int64_t) { return report(0, 0.0); });
}

// The speaking order: round-robin over the speakers in a seeded order, so that splits get utterances in
// proportion to their speakers and every speaker has spoken once after the first N utterances.
std::vector<int> SpeakingOrder(const Context& ctx) {
  std::vector<int> order(ctx.speakers.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int>(i);
  SplitMix64 rng(StreamSeed(ctx.options->seed, 0, "speaking-order"));
  for (size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[UniformIndex(rng, i)]);
  return order;
}

// The utterances of the corpus, rendered into ctx.tmp_dir/wav, and their lengths.
struct KeptUtterances {
  std::vector<UtterancePlan> plans;
  std::vector<double> seconds;
  double total_seconds = 0;
};

// Renders utterances in index order, in batches, until they last the hours asked for and every speaker has spoken;
// the wav files of a batch's utterances past that point are removed.
Result<KeptUtterances> RenderUtterances(Context& ctx, int jobs, const ReportFn& report) {
  const SynthOptions& o = *ctx.options;
  const double target = o.hours * 3600.0;
  const std::vector<int> order = SpeakingOrder(ctx);
  KeptUtterances kept;
  double& total = kept.total_seconds;
  int64_t next_index = 0;
  const int64_t min_utterances = static_cast<int64_t>(ctx.speakers.size());
  auto enough = [&] { return total >= target && static_cast<int64_t>(kept.plans.size()) >= min_utterances; };
  while (!enough()) {
    // Plan a batch sized from the mean length so far. The cut below goes by index order and each utterance is a
    // function of its index, so batch sizes (themselves functions of the lengths measured) never change output.
    const double mean =
        kept.plans.empty() ? kInitialSecondsPerUtterance : total / static_cast<double>(kept.plans.size());
    const int64_t want =
        std::max<int64_t>({static_cast<int64_t>(std::ceil((target - total) / mean * 1.05)),
                           min_utterances - static_cast<int64_t>(kept.plans.size()), static_cast<int64_t>(jobs)});
    std::vector<UtterancePlan> batch;
    for (int64_t i = 0; i < want; ++i) batch.push_back(PlanUtterance(o, ctx.speakers, order, next_index + i));
    next_index += want;
    std::vector<UtteranceResult> results(batch.size());
    std::atomic<double> batch_seconds{0.0};
    DIAL_RETURN_IF_ERROR(ParallelFor(
        ctx, want, jobs,
        [&](int64_t i) {
          results[static_cast<size_t>(i)] = RenderUtterance(ctx, batch[static_cast<size_t>(i)]);
          double cur = batch_seconds.load();
          while (!batch_seconds.compare_exchange_weak(cur, cur + results[static_cast<size_t>(i)].seconds)) {
          }
          return results[static_cast<size_t>(i)].status;
        },
        [&](int64_t done) {
          return report(static_cast<int64_t>(kept.plans.size()) + done, total + batch_seconds.load());
        }));
    size_t used = 0;
    for (; used < batch.size() && !enough(); ++used) {
      total += results[used].seconds;
      kept.plans.push_back(batch[used]);
      kept.seconds.push_back(results[used].seconds);
    }
    for (size_t i = used; i < batch.size(); ++i) {
      std::error_code ignored;
      fs::remove(ctx.tmp_dir / "wav" / (batch[i].id + ".wav"), ignored);
    }
  }
  return kept;
}

// Kaldi data directories, one per split, sorted by id (byte order, as Kaldi's `sort` with LC_ALL=C); counts each
// split's utterances, speakers and seconds into `summary`.
Status WriteKaldiSplits(const Context& ctx, const KeptUtterances& kept, SynthSummary& summary) {
  for (int s = 0; s < kNumSplits; ++s) {
    std::vector<size_t> members;
    for (size_t i = 0; i < kept.plans.size(); ++i) {
      if (ctx.speakers[kept.plans[i].speaker].split == s) members.push_back(i);
    }
    std::sort(members.begin(), members.end(), [&](size_t a, size_t b) { return kept.plans[a].id < kept.plans[b].id; });
    std::vector<std::string> wav_scp, text, utt2spk, utt2noise;
    std::map<std::string, std::vector<std::string>> spk2utt;
    for (size_t i : members) {
      const UtterancePlan& p = kept.plans[i];
      const std::string& spk = ctx.speakers[p.speaker].id;
      wav_scp.push_back(p.id + " ../wav/" + p.id + ".wav");
      text.push_back(p.id + " " + p.text);
      utt2spk.push_back(p.id + " " + spk);
      utt2noise.push_back(p.id + " " + (p.noisy ? p.noise_type + " " + FormatSnr(p.snr_db) : std::string("clean")));
      spk2utt[spk].push_back(p.id);
      summary.seconds[s] += kept.seconds[i];
    }
    std::vector<std::string> spk_lines;
    for (const auto& [spk, utts] : spk2utt) {
      std::string line = spk;
      for (const auto& u : utts) line += " " + u;
      spk_lines.push_back(line);
    }
    summary.utterances[s] = static_cast<int64_t>(members.size());
    summary.speakers[s] = static_cast<int>(spk2utt.size());
    const fs::path dir = ctx.tmp_dir / kSplitNames[s];
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) return IoError(dir.string() + ": " + ec.message());
    DIAL_RETURN_IF_ERROR(WriteTextFile(dir / "wav.scp", WithNewline(wav_scp)));
    DIAL_RETURN_IF_ERROR(WriteTextFile(dir / "text", WithNewline(text)));
    DIAL_RETURN_IF_ERROR(WriteTextFile(dir / "utt2spk", WithNewline(utt2spk)));
    DIAL_RETURN_IF_ERROR(WriteTextFile(dir / "spk2utt", WithNewline(spk_lines)));
    DIAL_RETURN_IF_ERROR(WriteTextFile(dir / "utt2noise", WithNewline(utt2noise)));
  }
  return Status::Ok();
}

// corpus.json: what it takes to rebuild the same corpus (no times, paths or job counts, so that it too is the
// same byte for byte).
Status WriteCorpusJson(const Context& ctx, const SynthSummary& summary) {
  const SynthOptions& o = *ctx.options;
  nlohmann::json j;
  j["generator"] = "dial corpus synth";
  j["seed"] = o.seed;
  j["hours_requested"] = o.hours;
  j["sample_rate"] = o.sample_rate;
  j["digit_fraction"] = o.digit_fraction;
  j["clean_fraction"] = o.clean_fraction;
  j["snr_db"] = o.snr_db;
  j["noise_types"] = o.noise_types;
  j["max_silence_seconds"] = o.max_silence_seconds;
  j["dev_fraction"] = o.dev_fraction;
  j["test_fraction"] = o.test_fraction;
  if (!ctx.espeak.empty()) {
    auto v = RunProgram({ctx.espeak, "--version"}, ctx.env);
    if (v.ok()) j["espeak_ng_version"] = v->substr(0, v->find('\n'));
  }
  if (!ctx.flite.empty()) {
    auto v = RunProgram({ctx.flite, "--version"}, ctx.env);
    if (v.ok()) j["flite_version"] = v->substr(0, v->find('\n'));
  }
  nlohmann::json splits = nlohmann::json::object();
  for (int s = 0; s < kNumSplits; ++s) {
    splits[kSplitNames[s]] = {{"utterances", summary.utterances[s]},
                              {"speakers", summary.speakers[s]},
                              {"hours", summary.seconds[s] / 3600.0}};
  }
  j["splits"] = splits;
  nlohmann::json speakers = nlohmann::json::array();
  for (const Speaker& spk : ctx.speakers) {
    nlohmann::json sj = {{"id", spk.id}, {"voice", spk.voice.ToString()}, {"split", kSplitNames[spk.split]}};
    if (spk.voice.engine == SynthVoice::Engine::kEspeak) {
      sj["rate_wpm"] = spk.rate;
      sj["pitch"] = spk.pitch;
    } else {
      sj["duration_stretch"] = std::round(spk.stretch * 1000.0) / 1000.0;
    }
    speakers.push_back(sj);
  }
  j["speakers"] = speakers;
  DIAL_RETURN_IF_ERROR(WriteTextFile(ctx.tmp_dir / "corpus.json", j.dump(2) + "\n"));
  return Status::Ok();
}

// The body of SynthesizeCorpus once the temporary directory exists.
Result<SynthSummary> Build(Context& ctx, const SynthProgressFn& progress) {
  const SynthOptions& o = *ctx.options;
  const int jobs = o.jobs > 0 ? o.jobs : std::max(1u, std::thread::hardware_concurrency());
  const double target = o.hours * 3600.0;
  const ReportFn report = [&](int64_t utts, double seconds) {
    if (!progress) return true;
    return progress(SynthProgress{utts, seconds, target});
  };
  const bool need_babble = o.clean_fraction < 1.0 && !o.snr_db.empty() &&
                           std::find(o.noise_types.begin(), o.noise_types.end(), "babble") != o.noise_types.end();
  if (need_babble) DIAL_RETURN_IF_ERROR(SynthesizeBabble(ctx, jobs, report));
  DIAL_ASSIGN_OR_RETURN(const KeptUtterances kept, RenderUtterances(ctx, jobs, report));
  if (!report(static_cast<int64_t>(kept.plans.size()), kept.total_seconds)) {
    return Cancelled("corpus synthesis cancelled");
  }
  SynthSummary summary;
  summary.out_dir = o.out_dir;
  DIAL_RETURN_IF_ERROR(WriteKaldiSplits(ctx, kept, summary));
  DIAL_RETURN_IF_ERROR(WriteCorpusJson(ctx, summary));
  return summary;
}

}  // namespace

std::string SynthVoice::ToString() const { return (engine == Engine::kFlite ? "flite:" : "espeak:") + name; }

Result<SynthVoice> ParseSynthVoice(const std::string& text) {
  SynthVoice v;
  std::string rest = text;
  if (rest.rfind("flite:", 0) == 0) {
    v.engine = SynthVoice::Engine::kFlite;
    v.name = rest.substr(6);
    for (const char* known : kFliteVoices) {
      if (v.name == known) return v;
    }
    return InvalidArgument("voice '" + text + "': unknown flite voice (known: awb, kal, kal16, rms, slt)");
  }
  if (rest.rfind("espeak:", 0) == 0) rest = rest.substr(7);
  v.engine = SynthVoice::Engine::kEspeak;
  v.name = rest;
  const size_t plus = rest.find('+');
  const std::string base = rest.substr(0, plus);
  bool known_base = false;
  for (const char* accent : kEspeakAccents) known_base = known_base || base == accent;
  if (!known_base) {
    std::string list;
    for (const char* accent : kEspeakAccents) list += (list.empty() ? "" : ", ") + std::string(accent);
    return InvalidArgument("voice '" + text + "': unknown espeak-ng English voice (known: " + list + ")");
  }
  if (plus != std::string::npos) {
    const std::string variant = rest.substr(plus + 1);
    bool known = false;
    for (const char* k : kEspeakPoolVariants) known = known || variant == k;
    for (const char* k : kEspeakExtraVariants) known = known || variant == k;
    if (!known)
      return InvalidArgument("voice '" + text + "': unknown espeak-ng variant '" + variant + "' (m1..m8, f1..f5)");
  }
  return v;
}

std::vector<SynthVoice> DefaultVoicePool() {
  std::vector<SynthVoice> pool;
  for (const char* accent : kEspeakAccents) {
    for (const char* variant : kEspeakPoolVariants) {
      pool.push_back({SynthVoice::Engine::kEspeak, std::string(accent) + "+" + variant});
    }
  }
  for (int i = 0; i < kFlitePoolVoices; ++i) pool.push_back({SynthVoice::Engine::kFlite, kFliteVoices[i]});
  return pool;
}

Status SynthOptions::Validate() const {
  if (out_dir.empty()) return InvalidArgument("synth: --out is empty");
  if (!(hours > 0) || !std::isfinite(hours))
    return InvalidArgument("synth: --hours must be > 0, got " + std::to_string(hours));
  if (jobs < 0) return InvalidArgument("synth: --jobs must be >= 0 (0: the number of cores)");
  if (sample_rate < kMinSampleRate || sample_rate > kMaxSampleRate) {
    return InvalidArgument("synth: --sample-rate " + std::to_string(sample_rate) + " outside 8000..48000 Hz");
  }
  size_t pool = 0;
  if (voices.empty()) {
    pool = DefaultVoicePool().size();
  } else {
    std::set<std::string> seen;
    for (const auto& v : voices) {
      DIAL_ASSIGN_OR_RETURN(SynthVoice parsed, ParseSynthVoice(v));
      if (!seen.insert(parsed.ToString()).second) return InvalidArgument("synth: voice '" + v + "' given twice");
    }
    pool = seen.size();
  }
  if (pool < static_cast<size_t>(kMinSpeakers)) {
    return InvalidArgument("synth: " + std::to_string(pool) + " voice(s) given; train, dev and test need at least 3");
  }
  if (num_speakers != 0 && (num_speakers < kMinSpeakers || static_cast<size_t>(num_speakers) > pool)) {
    return InvalidArgument("synth: --speakers " + std::to_string(num_speakers) + " outside 3.." + std::to_string(pool) +
                           " (one voice per speaker)");
  }
  auto fraction = [](double v, const char* name, bool open) -> Status {
    if (!(v >= 0.0 && v <= 1.0) || (open && (v <= 0.0 || v >= 1.0))) {
      return InvalidArgument(std::string("synth: ") + name + " must lie in " + (open ? "(0, 1)" : "[0, 1]") + ", got " +
                             std::to_string(v));
    }
    return Status::Ok();
  };
  DIAL_RETURN_IF_ERROR(fraction(dev_fraction, "--dev-fraction", true));
  DIAL_RETURN_IF_ERROR(fraction(test_fraction, "--test-fraction", true));
  if (dev_fraction + test_fraction >= 1.0)
    return InvalidArgument("synth: --dev-fraction + --test-fraction must be < 1");
  DIAL_RETURN_IF_ERROR(fraction(digit_fraction, "--digit-fraction", false));
  DIAL_RETURN_IF_ERROR(fraction(clean_fraction, "--clean-fraction", false));
  for (double snr : snr_db) {
    if (!std::isfinite(snr)) return InvalidArgument("synth: --snr-db values must be finite");
  }
  for (const auto& t : noise_types) {
    if (t != "white" && t != "pink" && t != "babble") {
      return InvalidArgument("synth: noise type '" + t + "' unknown (white, pink, babble)");
    }
  }
  if (clean_fraction < 1.0 && (snr_db.empty() || noise_types.empty())) {
    return InvalidArgument("synth: noisy utterances need at least one --snr-db and one --noise type");
  }
  if (!(max_silence_seconds >= kMinSilenceSeconds) || max_silence_seconds > 10.0) {
    return InvalidArgument("synth: max_silence_seconds must lie in [0.05, 10]");
  }
  return Status::Ok();
}

Result<SynthSummary> SynthesizeCorpus(const SynthOptions& options, const SynthProgressFn& progress) {
  DIAL_RETURN_IF_ERROR(options.Validate());
  Context ctx;
  ctx.options = &options;
  ctx.env = Environment();

  std::vector<SynthVoice> pool;
  if (options.voices.empty()) {
    pool = DefaultVoicePool();
  } else {
    for (const auto& v : options.voices) pool.push_back(*ParseSynthVoice(v));
  }
  // Speakers: the pool in a seeded order, the first N of it; then the first dev share is dev, the next test.
  SplitMix64 pick(StreamSeed(options.seed, 0, "speakers"));
  for (size_t i = pool.size(); i > 1; --i) std::swap(pool[i - 1], pool[UniformIndex(pick, i)]);
  const int n = options.num_speakers > 0 ? options.num_speakers
                                         : std::clamp(static_cast<int>(std::ceil(kAutoSpeakersPerHour * options.hours)),
                                                      kAutoMinSpeakers, static_cast<int>(pool.size()));
  const int n_dev = std::max(1, static_cast<int>(std::lround(options.dev_fraction * n)));
  const int n_test = std::max(1, static_cast<int>(std::lround(options.test_fraction * n)));
  if (n - n_dev - n_test < 1) {
    return InvalidArgument("synth: " + std::to_string(n) + " speakers leave none for train after " +
                           std::to_string(n_dev) + " dev and " + std::to_string(n_test) + " test");
  }
  bool need_espeak = false, need_flite = false;
  for (int i = 0; i < n; ++i) {
    Speaker spk;
    spk.voice = pool[static_cast<size_t>(i)];
    spk.id = SpeakerIdFor(spk.voice);
    spk.split = i < n_dev ? 1 : i < n_dev + n_test ? 2 : 0;
    // A speaker's prosody depends on the seed and the voice only.
    SplitMix64 rng(StreamSeed(options.seed, 0, "prosody:" + spk.voice.ToString()));
    spk.rate = UniformInt(rng, kMinEspeakRate, kMaxEspeakRate);
    spk.pitch = UniformInt(rng, kMinEspeakPitch, kMaxEspeakPitch);
    spk.stretch = std::round(UniformReal(rng, kMinFliteStretch, kMaxFliteStretch) * 1000.0) / 1000.0;
    need_espeak = need_espeak || spk.voice.engine == SynthVoice::Engine::kEspeak;
    need_flite = need_flite || spk.voice.engine == SynthVoice::Engine::kFlite;
    ctx.speakers.push_back(std::move(spk));
  }
  if (need_espeak) {
    DIAL_ASSIGN_OR_RETURN(ctx.espeak, FindProgram(options.espeak_program, "espeak-ng"));
  }
  if (need_flite) {
    DIAL_ASSIGN_OR_RETURN(ctx.flite, FindProgram(options.flite_program, "flite"));
  }

  fs::path out = fs::path(options.out_dir).lexically_normal();
  if (out.has_filename() == false) out = out.parent_path();  // "dir/" → "dir"
  std::error_code ec;
  if (fs::exists(out, ec) && !options.overwrite) {
    return AlreadyExists("synth: " + out.string() + " exists (choose another --out, or --overwrite)");
  }
  if (out.has_parent_path()) {
    fs::create_directories(out.parent_path(), ec);
    if (ec) return IoError(out.parent_path().string() + ": " + ec.message());
  }
  std::string tmpl = out.string() + ".tmp-XXXXXX";
  if (mkdtemp(tmpl.data()) == nullptr) return IoError(tmpl + ": cannot create a temporary directory");
  ctx.tmp_dir = tmpl;
  ctx.work_dir = ctx.tmp_dir / ".work";
  // Whatever happens below, a failure leaves nothing behind.
  auto fail = [&](const Status& s) -> Result<SynthSummary> {
    std::error_code ignored;
    fs::remove_all(ctx.tmp_dir, ignored);
    return s;
  };
  fs::create_directories(ctx.tmp_dir / "wav", ec);
  if (!ec) fs::create_directories(ctx.work_dir, ec);
  if (ec) return fail(IoError(ctx.tmp_dir.string() + ": " + ec.message()));
  ::chmod(ctx.tmp_dir.c_str(), 0755);  // mkdtemp makes it 0700; the corpus is shared like any directory

  Result<SynthSummary> summary = Build(ctx, progress);
  if (!summary.ok()) return fail(summary.status());
  fs::remove_all(ctx.work_dir, ec);
  if (fs::exists(out)) {
    // --overwrite: move the old corpus aside, put the new one in place, then delete the old one.
    std::string old = out.string() + ".old-XXXXXX";
    if (mkdtemp(old.data()) == nullptr) return fail(IoError(old + ": cannot create a temporary directory"));
    fs::remove(old, ec);
    fs::rename(out, old, ec);
    if (ec) return fail(IoError("moving " + out.string() + " aside: " + ec.message()));
    fs::rename(ctx.tmp_dir, out, ec);
    if (ec) {
      std::error_code ignored;
      fs::rename(old, out, ignored);
      return fail(IoError("renaming " + ctx.tmp_dir.string() + " to " + out.string() + ": " + ec.message()));
    }
    fs::remove_all(old, ec);
  } else {
    fs::rename(ctx.tmp_dir, out, ec);
    if (ec) return fail(IoError("renaming " + ctx.tmp_dir.string() + " to " + out.string() + ": " + ec.message()));
  }
  summary->out_dir = out.string();
  return summary;
}

}  // namespace dial::speech
