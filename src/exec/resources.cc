// Resources per trial: host inventory detection, the packing rule, and the flock-guarded ledger (see resources.h).
#include "exec/resources.h"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include "dial/command_objective.h"
#include "util/strings.h"
#include "util/subprocess.h"

extern char** environ;

namespace dial {
namespace {

constexpr const char* kLedgerFile = "ledger.json";
constexpr const char* kLockFile = "ledger.lock";
// Memory figures are counted in MB (10^6 bytes); memory_gb is in GB (10^9 bytes).
constexpr int64_t kBytesPerMb = 1000 * 1000;
constexpr int64_t kMbPerGb = 1000;
// A cgroup v1 "no limit" is a number near 2^63; anything above this is no limit.
constexpr int64_t kUnlimitedBytes = int64_t{1} << 60;
// How long `nvidia-smi` may take to list the GPUs.
constexpr std::chrono::seconds kNvidiaSmiTimeout{20};

std::optional<std::string> ReadWholeFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

// "2", "0.5", "1.25": thousandths (of a CPU or GPU; MB as GB) printed without trailing zeros.
std::string Milli(int64_t milli) {
  char text[64];
  std::snprintf(text, sizeof(text), "%g", static_cast<double>(milli) / kResourceUnitsPerWhole);
  return text;
}

std::string JoinIds(const std::vector<std::string>& ids) {
  std::string out;
  for (const std::string& id : ids) out += (out.empty() ? "" : ",") + id;
  return out;
}

std::optional<double> PositiveNumber(const std::string& text) {
  const std::string t(Trim(text));
  if (t.empty()) return std::nullopt;
  char* end = nullptr;
  errno = 0;
  const double v = std::strtod(t.c_str(), &end);
  if (errno != 0 || end == nullptr || *end != '\0' || !std::isfinite(v) || !(v > 0)) return std::nullopt;
  return v;
}

// A configured GPU list: "none" or "" for no GPU, else distinct non-empty ids separated by commas.
Result<std::vector<std::string>> ParseConfiguredGpus(const std::string& text, const std::string& source) {
  const std::string t(Trim(text));
  if (t.empty() || t == "none") return std::vector<std::string>{};
  std::vector<std::string> ids;
  std::set<std::string> seen;
  size_t start = 0;
  while (start <= t.size()) {
    size_t end = t.find(',', start);
    if (end == std::string::npos) end = t.size();
    const std::string id(Trim(t.substr(start, end - start)));
    if (id.empty() || id.find_first_of(" \t") != std::string::npos) {
      return InvalidArgument(source + ": GPU ids separated by commas (e.g. 0,1), or none; got \"" + text + "\"");
    }
    if (!seen.insert(id).second)
      return InvalidArgument(source + ": GPU " + id + " is listed twice in \"" + text + "\"");
    ids.push_back(id);
    start = end + 1;
  }
  return ids;
}

// Runs `nvidia-smi --query-gpu=index --format=csv,noheader`; nullopt (with `why`) when it fails.
std::optional<std::vector<std::string>> QueryNvidiaSmi(std::string& why) {
  Result<std::string> program = ResolveExecutable("nvidia-smi");
  if (!program.ok()) {
    why = "no $CUDA_VISIBLE_DEVICES and no nvidia-smi on PATH";
    return std::nullopt;
  }
  SpawnOptions spawn;
  spawn.executable = *program;
  spawn.argv = {"nvidia-smi", "--query-gpu=index", "--format=csv,noheader"};
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) spawn.env.push_back(*e);
  Result<std::unique_ptr<Subprocess>> started = Subprocess::Spawn(spawn);
  if (!started.ok()) {
    why = "nvidia-smi: " + started.status().message();
    return std::nullopt;
  }
  std::string out;
  auto on_line = [&out](OutputStream stream, std::string_view line) {
    if (stream == OutputStream::kStdout) out += std::string(line) + "\n";
  };
  const auto deadline = std::chrono::steady_clock::now() + kNvidiaSmiTimeout;
  while (!(*started)->ReadOutput(std::chrono::milliseconds(100), on_line)) {
    if (std::chrono::steady_clock::now() >= deadline) {
      (*started)->SignalGroup(SIGKILL);
      why = "nvidia-smi did not answer within " + std::to_string(kNvidiaSmiTimeout.count()) + " s";
      return std::nullopt;
    }
  }
  const ExitInfo exit = (*started)->Wait();
  if (!exit.success()) {
    why = "nvidia-smi " + exit.Describe();
    return std::nullopt;
  }
  return ParseNvidiaSmiIndices(out);
}

// The memory limit of this process's cgroup (v2, then v1), in bytes; nullopt when none.
std::optional<int64_t> CgroupMemoryLimit() {
  std::vector<std::string> candidates;
  if (std::optional<std::string> self = ReadWholeFile("/proc/self/cgroup")) {
    std::istringstream lines(*self);
    std::string line;
    while (std::getline(lines, line)) {
      if (line.rfind("0::", 0) == 0)
        candidates.push_back("/sys/fs/cgroup" + std::string(Trim(line.substr(3))) + "/memory.max");
    }
  }
  candidates.push_back("/sys/fs/cgroup/memory.max");
  candidates.push_back("/sys/fs/cgroup/memory/memory.limit_in_bytes");
  for (const std::string& path : candidates) {
    std::optional<std::string> text = ReadWholeFile(path);
    if (text) return ParseCgroupMemoryLimit(*text);
  }
  return std::nullopt;
}

// ---- the ledger file ----

// flock on dir/ledger.lock for the lifetime of the object.
class LedgerLock {
 public:
  static Result<std::unique_ptr<LedgerLock>> Take(const std::string& dir) {
    const std::string path = dir + "/" + kLockFile;
    const int fd = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) return IoError("resource ledger " + path + ": " + strerror(errno));
    while (flock(fd, LOCK_EX) != 0) {
      if (errno != EINTR) {
        const int err = errno;
        close(fd);
        return IoError("resource ledger " + path + ": flock: " + strerror(err));
      }
    }
    return std::unique_ptr<LedgerLock>(new LedgerLock(fd));
  }
  ~LedgerLock() {
    flock(fd_, LOCK_UN);
    close(fd_);
  }
  LedgerLock(const LedgerLock&) = delete;
  LedgerLock& operator=(const LedgerLock&) = delete;

 private:
  explicit LedgerLock(int fd) : fd_(fd) {}
  int fd_;
};

Json EntryToJson(const LedgerEntry& e) {
  Json gpus = Json::array();
  for (const GpuShare& g : e.grant.gpus) gpus.push_back({{"id", g.id}, {"milli", g.milli}});
  return {{"lease", e.lease},
          {"pid", static_cast<int64_t>(e.pid)},
          {"start", e.start},
          {"cpus_milli", e.grant.cpus_milli},
          {"memory_mb", e.grant.memory_mb},
          {"gpus", gpus}};
}

// Caller holds the lock. A missing file is an empty ledger.
Result<std::vector<LedgerEntry>> LoadLedger(const std::string& dir) {
  const std::string path = dir + "/" + kLedgerFile;
  std::optional<std::string> text = ReadWholeFile(path);
  std::vector<LedgerEntry> entries;
  if (!text || Trim(*text).empty()) return entries;
  Json parsed = Json::parse(*text, nullptr, /*allow_exceptions=*/false);
  auto corrupt = [&path] {
    return IoError("resource ledger " + path + ": not a ledger written by dial (remove it when no dial process runs)");
  };
  if (!parsed.is_object() || !parsed.contains("entries") || !parsed["entries"].is_array()) return corrupt();
  for (const Json& j : parsed["entries"]) {
    if (!j.is_object() || !j.value("lease", Json()).is_string() || !j.value("pid", Json()).is_number_integer() ||
        !j.value("start", Json()).is_number_integer() || !j.value("gpus", Json()).is_array()) {
      return corrupt();
    }
    LedgerEntry e;
    e.lease = j["lease"].get<std::string>();
    e.pid = static_cast<pid_t>(j["pid"].get<int64_t>());
    e.start = j["start"].get<int64_t>();
    e.grant.cpus_milli = j.value("cpus_milli", int64_t{0});
    e.grant.memory_mb = j.value("memory_mb", int64_t{0});
    for (const Json& g : j["gpus"]) {
      if (!g.is_object() || !g.value("id", Json()).is_string()) return corrupt();
      e.grant.gpus.push_back({g["id"].get<std::string>(), g.value("milli", int64_t{0})});
    }
    entries.push_back(std::move(e));
  }
  return entries;
}

// Caller holds the lock. Written to a temporary file and renamed, so a reader never sees half a ledger.
Status SaveLedger(const std::string& dir, const std::vector<LedgerEntry>& entries) {
  Json j = {{"entries", Json::array()}};
  for (const LedgerEntry& e : entries) j["entries"].push_back(EntryToJson(e));
  const std::string path = dir + "/" + kLedgerFile;
  const std::string tmp = path + ".tmp." + std::to_string(getpid());
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << j.dump() << "\n";
    out.flush();
    if (!out) return IoError("resource ledger " + tmp + ": cannot write");
  }
  if (rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    unlink(tmp.c_str());
    return IoError("resource ledger " + path + ": " + strerror(err));
  }
  return Status::Ok();
}

// The entries whose owner is still the process that wrote them.
std::vector<LedgerEntry> LiveEntries(const std::vector<LedgerEntry>& entries) {
  std::vector<LedgerEntry> live;
  for (const LedgerEntry& e : entries) {
    std::optional<int64_t> start = ProcessStartTime(e.pid);
    if (start && *start == e.start) live.push_back(e);
  }
  return live;
}

Status RemoveLease(const std::string& dir, const std::string& lease) {
  DIAL_ASSIGN_OR_RETURN(std::unique_ptr<LedgerLock> lock, LedgerLock::Take(dir));
  DIAL_ASSIGN_OR_RETURN(std::vector<LedgerEntry> entries, LoadLedger(dir));
  std::vector<LedgerEntry> kept = LiveEntries(entries);
  kept.erase(std::remove_if(kept.begin(), kept.end(), [&](const LedgerEntry& e) { return e.lease == lease; }),
             kept.end());
  return SaveLedger(dir, kept);
}

}  // namespace

ResourceRequest ResourceRequest::FromNumbers(std::optional<double> cpus, std::optional<double> gpus,
                                             std::optional<double> memory_gb) {
  ResourceRequest r;
  if (cpus) r.cpus_milli = std::llround(*cpus * kResourceUnitsPerWhole);
  if (gpus) r.gpus_milli = std::llround(*gpus * kResourceUnitsPerWhole);
  if (memory_gb) r.memory_mb = std::llround(*memory_gb * kMbPerGb);
  return r;
}

std::vector<std::string> ParseGpuList(const std::string& text) {
  std::vector<std::string> ids;
  size_t start = 0;
  const std::string t(Trim(text));
  if (t.empty()) return ids;
  while (start <= t.size()) {
    size_t end = t.find(',', start);
    if (end == std::string::npos) end = t.size();
    const std::string id(Trim(t.substr(start, end - start)));
    if (id.empty() || id[0] == '-') break;  // CUDA ignores an invalid entry and every one after it
    ids.push_back(id);
    start = end + 1;
  }
  return ids;
}

std::vector<std::string> ParseNvidiaSmiIndices(const std::string& text) {
  std::vector<std::string> ids;
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    const std::string id(Trim(line));
    if (!id.empty() && std::all_of(id.begin(), id.end(), [](unsigned char c) { return std::isdigit(c); })) {
      ids.push_back(id);
    }
  }
  return ids;
}

std::optional<int64_t> ParseMemInfoTotalBytes(const std::string& text) {
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.rfind("MemTotal:", 0) != 0) continue;
    long long kib = 0;
    char unit[8] = {};
    if (std::sscanf(line.c_str() + 9, "%lld %7s", &kib, unit) >= 1 && kib > 0) return kib * 1024;
  }
  return std::nullopt;
}

std::optional<int64_t> ParseCgroupMemoryLimit(const std::string& text) {
  const std::string t(Trim(text));
  if (t.empty() || t == "max") return std::nullopt;
  char* end = nullptr;
  errno = 0;
  const long long v = std::strtoll(t.c_str(), &end, 10);
  if (errno != 0 || end == nullptr || *end != '\0' || v <= 0 || v >= kUnlimitedBytes) return std::nullopt;
  return v;
}

Result<HostInventory> DetectHostInventory(const InventoryOverrides& flags) {
  HostInventory inv;
  auto env = [](const char* name) -> std::optional<std::string> {
    const char* v = std::getenv(name);
    if (v == nullptr) return std::nullopt;
    return std::string(v);
  };

  // CPUs.
  std::optional<double> cpus = flags.cpus;
  std::string cpus_source = flags.cpus_source;
  if (!cpus) {
    if (std::optional<std::string> v = env("DIAL_CPUS")) {
      cpus = PositiveNumber(*v);
      if (!cpus) return InvalidArgument("$DIAL_CPUS: must be a positive number of CPUs, got \"" + *v + "\"");
      cpus_source = "$DIAL_CPUS";
    }
  } else if (!(*cpus > 0) || !std::isfinite(*cpus)) {
    return InvalidArgument(flags.cpus_source + ": must be a positive number of CPUs");
  }
  if (cpus) {
    inv.cpus_milli = std::llround(*cpus * kResourceUnitsPerWhole);
    inv.cpus_source = cpus_source;
  } else {
    cpu_set_t set;
    CPU_ZERO(&set);
    int n = 0;
    if (sched_getaffinity(0, sizeof(set), &set) == 0) n = CPU_COUNT(&set);
    inv.cpus_source = "sched_getaffinity";
    if (n <= 0) {
      n = static_cast<int>(std::max(1L, sysconf(_SC_NPROCESSORS_ONLN)));
      inv.cpus_source = "sysconf";
    }
    inv.cpus_milli = int64_t{n} * kResourceUnitsPerWhole;
  }

  // Memory.
  std::optional<double> memory_gb = flags.memory_gb;
  std::string memory_source = flags.memory_source;
  if (!memory_gb) {
    if (std::optional<std::string> v = env("DIAL_MEMORY_GB")) {
      memory_gb = PositiveNumber(*v);
      if (!memory_gb) return InvalidArgument("$DIAL_MEMORY_GB: must be a positive number of GB, got \"" + *v + "\"");
      memory_source = "$DIAL_MEMORY_GB";
    }
  } else if (!(*memory_gb > 0) || !std::isfinite(*memory_gb)) {
    return InvalidArgument(flags.memory_source + ": must be a positive number of GB");
  }
  if (memory_gb) {
    inv.memory_mb = std::llround(*memory_gb * kMbPerGb);
    inv.memory_source = memory_source;
  } else {
    std::optional<int64_t> total;
    if (std::optional<std::string> meminfo = ReadWholeFile("/proc/meminfo")) total = ParseMemInfoTotalBytes(*meminfo);
    inv.memory_source = "/proc/meminfo";
    if (std::optional<int64_t> limit = CgroupMemoryLimit(); limit && (!total || *limit < *total)) {
      total = limit;
      inv.memory_source = "the cgroup's memory limit";
    }
    inv.memory_mb = total ? *total / kBytesPerMb : 0;
  }

  // GPUs.
  if (flags.gpus) {
    DIAL_ASSIGN_OR_RETURN(inv.gpus, ParseConfiguredGpus(*flags.gpus, flags.gpus_source));
    inv.gpus_source = flags.gpus_source;
  } else if (std::optional<std::string> v = env("DIAL_GPUS")) {
    DIAL_ASSIGN_OR_RETURN(inv.gpus, ParseConfiguredGpus(*v, "$DIAL_GPUS"));
    inv.gpus_source = "$DIAL_GPUS";
  } else if (std::optional<std::string> v = env("CUDA_VISIBLE_DEVICES")) {
    inv.gpus = ParseGpuList(*v);
    inv.gpus_source = "$CUDA_VISIBLE_DEVICES";
  } else {
    std::string why;
    std::optional<std::vector<std::string>> listed = QueryNvidiaSmi(why);
    if (listed) {
      inv.gpus = *listed;
      inv.gpus_source = "nvidia-smi";
      inv.gpus_in_pci_order = true;
    } else {
      inv.gpus_source = why;
    }
  }
  return inv;
}

Status CheckRequestFits(const ResourceRequest& request, const HostInventory& inventory,
                        const std::function<std::string(const std::string& key)>& where) {
  auto fail = [&](const std::string& key, const std::string& what) {
    const std::string full = "resources_per_trial." + key;
    return InvalidArgument((where ? where(key) : std::string()) + full + ": " + what);
  };
  if (request.cpus_milli > inventory.cpus_milli) {
    return fail("cpus", "a trial needs " + Milli(request.cpus_milli) + " CPU(s), more than this host has: " +
                            Milli(inventory.cpus_milli) + " (from " + inventory.cpus_source + ")");
  }
  if (request.memory_mb > inventory.memory_mb) {
    return fail("memory_gb", "a trial needs " + Milli(request.memory_mb) + " GB, more than this host has: " +
                                 Milli(inventory.memory_mb) + " GB (from " + inventory.memory_source + ")");
  }
  const int64_t whole_gpus = (request.gpus_milli + kResourceUnitsPerWhole - 1) / kResourceUnitsPerWhole;
  if (request.gpus_milli > 0 && whole_gpus > static_cast<int64_t>(inventory.gpus.size())) {
    const std::string have =
        inventory.gpus.empty() ? "none" : std::to_string(inventory.gpus.size()) + " (" + JoinIds(inventory.gpus) + ")";
    return fail("gpus", "a trial needs " + Milli(request.gpus_milli) + " GPU(s), more than this host has: " + have +
                            " (from " + inventory.gpus_source + "; set the GPUs with --gpus 0,1 or $DIAL_GPUS)");
  }
  return Status::Ok();
}

Json ResourceGrant::ToJson() const {
  Json j = Json::object();
  if (cpus_milli > 0) j["cpus"] = static_cast<double>(cpus_milli) / kResourceUnitsPerWhole;
  if (memory_mb > 0) j["memory_gb"] = static_cast<double>(memory_mb) / kMbPerGb;
  if (host_has_gpus || !gpus.empty()) {
    Json list = Json::array();
    for (const GpuShare& g : gpus) {
      list.push_back({{"id", g.id}, {"share", static_cast<double>(g.milli) / kResourceUnitsPerWhole}});
    }
    j["gpus"] = list;
    if (gpus_in_pci_order && !gpus.empty()) j["cuda_device_order"] = "PCI_BUS_ID";
  }
  return j;
}

std::optional<std::string> CudaVisibleDevicesFor(const Json& attr) {
  if (!attr.is_object() || !attr.contains("gpus") || !attr["gpus"].is_array()) return std::nullopt;
  std::vector<std::string> ids;
  for (const Json& g : attr["gpus"]) {
    if (g.is_object() && g.contains("id") && g["id"].is_string()) ids.push_back(g["id"].get<std::string>());
  }
  return JoinIds(ids);
}

std::optional<int64_t> ThreadsFor(const Json& attr) {
  if (!attr.is_object() || !attr.contains("cpus") || !attr["cpus"].is_number()) return std::nullopt;
  return std::max<int64_t>(1, static_cast<int64_t>(std::floor(attr["cpus"].get<double>())));
}

std::optional<int64_t> MemoryLimitBytesFor(const Json& attr) {
  if (!attr.is_object() || !attr.contains("memory_gb") || !attr["memory_gb"].is_number()) return std::nullopt;
  const double gb = attr["memory_gb"].get<double>();
  if (!(gb > 0)) return std::nullopt;
  return std::llround(gb * kMbPerGb) * kBytesPerMb;
}

std::optional<ResourceGrant> Allocate(const ResourceRequest& request, const HostInventory& inventory,
                                      const std::vector<LedgerEntry>& held) {
  int64_t cpus_used = 0;
  int64_t memory_used = 0;
  std::map<std::string, int64_t> gpu_used;
  for (const std::string& id : inventory.gpus) gpu_used[id] = 0;
  for (const LedgerEntry& e : held) {
    cpus_used += e.grant.cpus_milli;
    memory_used += e.grant.memory_mb;
    for (const GpuShare& g : e.grant.gpus) {
      auto it = gpu_used.find(g.id);
      if (it != gpu_used.end()) it->second += g.milli;
    }
  }
  if (request.cpus_milli > 0 && cpus_used + request.cpus_milli > inventory.cpus_milli) return std::nullopt;
  if (request.memory_mb > 0 && memory_used + request.memory_mb > inventory.memory_mb) return std::nullopt;
  ResourceGrant grant;
  grant.cpus_milli = request.cpus_milli;
  grant.memory_mb = request.memory_mb;
  grant.host_has_gpus = !inventory.gpus.empty();
  grant.gpus_in_pci_order = inventory.gpus_in_pci_order;
  if (request.gpus_milli > 0 && request.gpus_milli <= kResourceUnitsPerWhole) {
    // Best fit: the fullest GPU that still has room, so shares fill one GPU before the next is touched.
    const std::string* best = nullptr;
    int64_t best_used = -1;
    for (const std::string& id : inventory.gpus) {
      const int64_t used = gpu_used[id];
      if (used + request.gpus_milli <= kResourceUnitsPerWhole && used > best_used) {
        best = &id;
        best_used = used;
      }
    }
    if (best == nullptr) return std::nullopt;
    grant.gpus.push_back({*best, request.gpus_milli});
  } else if (request.gpus_milli > kResourceUnitsPerWhole) {
    const int64_t needed = request.gpus_milli / kResourceUnitsPerWhole;
    for (const std::string& id : inventory.gpus) {
      if (static_cast<int64_t>(grant.gpus.size()) == needed) break;
      if (gpu_used[id] == 0) grant.gpus.push_back({id, kResourceUnitsPerWhole});
    }
    if (static_cast<int64_t>(grant.gpus.size()) < needed) return std::nullopt;
  }
  return grant;
}

std::optional<int64_t> ProcessStartTime(pid_t pid) {
  if (pid <= 0) return std::nullopt;
  std::optional<std::string> stat = ReadWholeFile("/proc/" + std::to_string(pid) + "/stat");
  if (!stat) return std::nullopt;
  // The command name (field 2) may hold spaces and parentheses: fields are counted after its last ')'.
  const size_t close = stat->rfind(')');
  if (close == std::string::npos) return std::nullopt;
  std::istringstream fields(stat->substr(close + 1));
  std::string state;
  fields >> state;  // field 3
  if (state == "Z" || state == "X" || state == "x") return std::nullopt;
  std::string field;
  for (int k = 4; k <= 22; ++k) {
    if (!(fields >> field)) return std::nullopt;
  }
  char* end = nullptr;
  const long long start = std::strtoll(field.c_str(), &end, 10);
  if (end == nullptr || *end != '\0') return std::nullopt;
  return start;
}

std::string DefaultResourceDir() {
  const char* dir = std::getenv("DIAL_RESOURCE_DIR");
  if (dir != nullptr && *dir != '\0') return dir;
  return "/tmp/dial-resources-" + std::to_string(geteuid());
}

// Best effort: an entry that cannot be removed now is reclaimed once this process has ended.
ResourceLease::~ResourceLease() { (void)Release(); }

Status ResourceLease::Release() {
  if (released_) return Status::Ok();
  released_ = true;
  return RemoveLease(dir_, lease_);
}

Result<std::unique_ptr<ResourceLedger>> ResourceLedger::Open(HostInventory inventory, ResourceRequest request,
                                                             std::string dir) {
  if (dir.empty()) dir = DefaultResourceDir();
  if (mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return IoError("resource ledger directory " + dir + ": " + strerror(errno));
  }
  struct stat st {};
  if (stat(dir.c_str(), &st) != 0) return IoError("resource ledger directory " + dir + ": " + strerror(errno));
  if (!S_ISDIR(st.st_mode)) return IoError("resource ledger directory " + dir + ": not a directory");
  if (st.st_uid != geteuid()) {
    return IoError("resource ledger directory " + dir + ": owned by another user (set $DIAL_RESOURCE_DIR)");
  }
  return std::unique_ptr<ResourceLedger>(new ResourceLedger(std::move(inventory), request, std::move(dir)));
}

Result<std::unique_ptr<ResourceLease>> ResourceLedger::TryAcquire() {
  static std::atomic<int64_t> counter{0};
  DIAL_ASSIGN_OR_RETURN(std::unique_ptr<LedgerLock> lock, LedgerLock::Take(dir_));
  DIAL_ASSIGN_OR_RETURN(std::vector<LedgerEntry> entries, LoadLedger(dir_));
  std::vector<LedgerEntry> live = LiveEntries(entries);
  std::optional<ResourceGrant> grant = Allocate(request_, inventory_, live);
  if (!grant) {
    if (live.size() != entries.size()) DIAL_RETURN_IF_ERROR(SaveLedger(dir_, live));
    return std::unique_ptr<ResourceLease>();
  }
  LedgerEntry entry;
  entry.pid = getpid();
  std::optional<int64_t> start = ProcessStartTime(entry.pid);
  if (!start) return IoError("resource ledger: cannot read this process's start time from /proc");
  entry.start = *start;
  entry.lease = std::to_string(entry.pid) + "-" + std::to_string(entry.start) + "-" + std::to_string(counter++);
  entry.grant = *grant;
  live.push_back(entry);
  DIAL_RETURN_IF_ERROR(SaveLedger(dir_, live));
  return std::unique_ptr<ResourceLease>(new ResourceLease(dir_, entry.lease, *grant));
}

Result<std::unique_ptr<ResourceLease>> ResourceLedger::Acquire(const std::atomic<bool>* stop_flag,
                                                               std::chrono::milliseconds poll) {
  while (true) {
    if (stop_flag != nullptr && stop_flag->load()) return std::unique_ptr<ResourceLease>();
    DIAL_ASSIGN_OR_RETURN(std::unique_ptr<ResourceLease> lease, TryAcquire());
    if (lease != nullptr) return lease;
    std::this_thread::sleep_for(poll);
  }
}

Result<std::vector<LedgerEntry>> ResourceLedger::Entries() {
  DIAL_ASSIGN_OR_RETURN(std::unique_ptr<LedgerLock> lock, LedgerLock::Take(dir_));
  DIAL_ASSIGN_OR_RETURN(std::vector<LedgerEntry> entries, LoadLedger(dir_));
  return LiveEntries(entries);
}

}  // namespace dial
