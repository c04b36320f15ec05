// Tests of resources per trial without a GPU: inventory parsing and configured (fake) inventories, the packing of GPU
// shares, the ledger's leases (release, dead owners reclaimed, pid reuse), waiting with the stop flag, processes
// contending for one ledger, and the resident-memory sum that a memory limit is checked against.
#include "exec/resources.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <thread>

#include "dial/storage.h"
#include "dial/study.h"
#include "exec/worker_loop.h"
#include "util/subprocess.h"

namespace dial {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
namespace fs = std::filesystem;

// Sets an environment variable for the scope of a test, restoring the old value after.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    const char* old = std::getenv(name);
    if (old != nullptr) old_ = old;
    if (value == nullptr) {
      unsetenv(name);
    } else {
      setenv(name, value, 1);
    }
  }
  ~ScopedEnv() {
    if (old_) {
      setenv(name_.c_str(), old_->c_str(), 1);
    } else {
      unsetenv(name_.c_str());
    }
  }

 private:
  std::string name_;
  std::optional<std::string> old_;
};

// A fresh ledger directory per test.
class LedgerDir {
 public:
  LedgerDir() {
    char pattern[] = "/tmp/dial-resources-test-XXXXXX";
    path_ = mkdtemp(pattern);
  }
  ~LedgerDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

HostInventory FakeInventory(int cpus, std::vector<std::string> gpus, int64_t memory_gb = 16) {
  HostInventory inv;
  inv.cpus_milli = cpus * kResourceUnitsPerWhole;
  inv.memory_mb = memory_gb * 1000;
  inv.gpus = std::move(gpus);
  inv.cpus_source = inv.memory_source = inv.gpus_source = "test";
  return inv;
}

LedgerEntry Held(const ResourceGrant& grant) {
  LedgerEntry e;
  e.grant = grant;
  return e;
}

std::vector<std::string> GpuIds(const ResourceGrant& grant) {
  std::vector<std::string> ids;
  for (const GpuShare& g : grant.gpus) ids.push_back(g.id);
  return ids;
}

TEST(InventoryParsing, GpuListsFollowCudaRules) {
  EXPECT_THAT(ParseGpuList("0,1"), ElementsAre("0", "1"));
  EXPECT_THAT(ParseGpuList(" 2 , 3 "), ElementsAre("2", "3"));
  EXPECT_TRUE(ParseGpuList("").empty());
  EXPECT_TRUE(ParseGpuList("-1").empty());
  EXPECT_THAT(ParseGpuList("0,-1,2"), ElementsAre("0"));  // CUDA stops at the first invalid entry
  EXPECT_THAT(ParseGpuList("GPU-1a2b,MIG-3c"), ElementsAre("GPU-1a2b", "MIG-3c"));
}

TEST(InventoryParsing, NvidiaSmiMeminfoAndCgroup) {
  EXPECT_THAT(ParseNvidiaSmiIndices("0\n1\n"), ElementsAre("0", "1"));
  EXPECT_TRUE(ParseNvidiaSmiIndices("No devices were found\n").empty());
  EXPECT_EQ(ParseMemInfoTotalBytes("MemFree: 10 kB\nMemTotal:       16318480 kB\n"), int64_t{16318480} * 1024);
  EXPECT_EQ(ParseMemInfoTotalBytes("MemFree: 10 kB\n"), std::nullopt);
  EXPECT_EQ(ParseCgroupMemoryLimit("max\n"), std::nullopt);
  EXPECT_EQ(ParseCgroupMemoryLimit("8589934592\n"), int64_t{8589934592});
  EXPECT_EQ(ParseCgroupMemoryLimit("9223372036854771712"), std::nullopt);  // cgroup v1's "no limit"
}

TEST(Inventory, FlagsOverrideEnvironmentWhichOverridesDetection) {
  ScopedEnv gpus("DIAL_GPUS", "4,5,6");
  ScopedEnv cpus("DIAL_CPUS", "3");
  ScopedEnv memory("DIAL_MEMORY_GB", nullptr);
  InventoryOverrides flags;
  flags.gpus = "0,1";
  Result<HostInventory> inv = DetectHostInventory(flags);
  ASSERT_TRUE(inv.ok()) << inv.status().ToString();
  EXPECT_THAT(inv->gpus, ElementsAre("0", "1"));
  EXPECT_EQ(inv->gpus_source, "--gpus");
  EXPECT_EQ(inv->cpus_milli, 3000);
  EXPECT_EQ(inv->cpus_source, "$DIAL_CPUS");
  EXPECT_EQ(inv->memory_source.find("--memory-gb"), std::string::npos);  // detected
  EXPECT_GT(inv->memory_mb, 0);

  flags = InventoryOverrides();
  flags.cpus = 2;
  flags.memory_gb = 0.5;
  inv = DetectHostInventory(flags);
  ASSERT_TRUE(inv.ok()) << inv.status().ToString();
  EXPECT_THAT(inv->gpus, ElementsAre("4", "5", "6"));
  EXPECT_EQ(inv->gpus_source, "$DIAL_GPUS");
  EXPECT_EQ(inv->cpus_milli, 2000);
  EXPECT_EQ(inv->memory_mb, 500);
  EXPECT_EQ(inv->memory_source, "--memory-gb");
}

TEST(Inventory, CudaVisibleDevicesIsTheHostsGpusWhenNothingIsConfigured) {
  ScopedEnv gpus("DIAL_GPUS", nullptr);
  ScopedEnv visible("CUDA_VISIBLE_DEVICES", "2,3");
  Result<HostInventory> inv = DetectHostInventory(InventoryOverrides());
  ASSERT_TRUE(inv.ok()) << inv.status().ToString();
  EXPECT_THAT(inv->gpus, ElementsAre("2", "3"));
  EXPECT_EQ(inv->gpus_source, "$CUDA_VISIBLE_DEVICES");
  EXPECT_FALSE(inv->gpus_in_pci_order);
  ScopedEnv none("DIAL_GPUS", "none");
  inv = DetectHostInventory(InventoryOverrides());
  ASSERT_TRUE(inv.ok());
  EXPECT_TRUE(inv->gpus.empty());
}

TEST(Inventory, MalformedConfigurationNamesItsSource) {
  InventoryOverrides flags;
  flags.gpus = "0,,1";
  Result<HostInventory> inv = DetectHostInventory(flags);
  ASSERT_FALSE(inv.ok());
  EXPECT_THAT(inv.status().message(), HasSubstr("--gpus"));
  flags.gpus = "0,1,0";
  inv = DetectHostInventory(flags);
  ASSERT_FALSE(inv.ok());
  EXPECT_THAT(inv.status().message(), HasSubstr("listed twice"));
  {
    ScopedEnv cpus("DIAL_CPUS", "two");
    inv = DetectHostInventory(InventoryOverrides());
    ASSERT_FALSE(inv.ok());
    EXPECT_THAT(inv.status().message(), HasSubstr("$DIAL_CPUS"));
  }
  flags = InventoryOverrides();
  flags.memory_gb = -1;
  inv = DetectHostInventory(flags);
  ASSERT_FALSE(inv.ok());
  EXPECT_THAT(inv.status().message(), HasSubstr("--memory-gb"));
}

TEST(Packing, TwoHalvesShareGpu0AndAThirdGoesToGpu1) {
  const HostInventory inv = FakeInventory(8, {"0", "1"});
  const ResourceRequest half = ResourceRequest::FromNumbers(std::nullopt, 0.5, std::nullopt);
  std::vector<LedgerEntry> held;
  for (const char* expected : {"0", "0", "1", "1"}) {
    std::optional<ResourceGrant> g = Allocate(half, inv, held);
    ASSERT_TRUE(g.has_value());
    EXPECT_THAT(GpuIds(*g), ElementsAre(expected));
    EXPECT_EQ(g->gpus[0].milli, 500);
    held.push_back(Held(*g));
  }
  EXPECT_FALSE(Allocate(half, inv, held).has_value());  // both GPUs full
}

TEST(Packing, AWholeGpuWaitsForAFullyFreeOne) {
  const HostInventory inv = FakeInventory(8, {"0", "1"});
  const ResourceRequest half = ResourceRequest::FromNumbers(std::nullopt, 0.5, std::nullopt);
  const ResourceRequest one = ResourceRequest::FromNumbers(std::nullopt, 1.0, std::nullopt);
  const ResourceRequest two = ResourceRequest::FromNumbers(std::nullopt, 2.0, std::nullopt);
  std::vector<LedgerEntry> held;
  held.push_back(Held(*Allocate(half, inv, held)));  // GPU 0 half used
  std::optional<ResourceGrant> whole = Allocate(one, inv, held);
  ASSERT_TRUE(whole.has_value());
  EXPECT_THAT(GpuIds(*whole), ElementsAre("1"));
  EXPECT_FALSE(Allocate(two, inv, held).has_value());  // GPU 0 is not fully free
  held.push_back(Held(*whole));
  EXPECT_FALSE(Allocate(one, inv, held).has_value());
  // A 0.5 still fits beside the other half on GPU 0.
  std::optional<ResourceGrant> g = Allocate(half, inv, held);
  ASSERT_TRUE(g.has_value());
  EXPECT_THAT(GpuIds(*g), ElementsAre("0"));
  held.clear();  // everything released
  std::optional<ResourceGrant> both = Allocate(two, inv, held);
  ASSERT_TRUE(both.has_value());
  EXPECT_THAT(GpuIds(*both), ElementsAre("0", "1"));
}

TEST(Packing, CpusAndMemoryAreSummed) {
  const HostInventory inv = FakeInventory(4, {}, /*memory_gb=*/10);
  const ResourceRequest r = ResourceRequest::FromNumbers(1.5, std::nullopt, 4.0);
  std::vector<LedgerEntry> held;
  held.push_back(Held(*Allocate(r, inv, held)));
  held.push_back(Held(*Allocate(r, inv, held)));
  EXPECT_FALSE(Allocate(r, inv, held).has_value());  // 3 + 1.5 CPUs > 4 and 8 + 4 GB > 10
  const ResourceRequest cpu_only = ResourceRequest::FromNumbers(1.0, std::nullopt, std::nullopt);
  EXPECT_TRUE(Allocate(cpu_only, inv, held).has_value());
  // Held GPUs unknown to this inventory (another process's fake one) do not count.
  const HostInventory gpus = FakeInventory(4, {"0"});
  ResourceGrant foreign;
  foreign.gpus.push_back({"7", 1000});
  EXPECT_TRUE(Allocate(ResourceRequest::FromNumbers(std::nullopt, 1.0, std::nullopt), gpus, {Held(foreign)}));
}

TEST(Packing, GrantRecordAndTrialSettings) {
  const HostInventory inv = FakeInventory(8, {"0", "1"});
  std::optional<ResourceGrant> cpu = Allocate(ResourceRequest::FromNumbers(2.5, 0.0, 8.0), inv, {});
  ASSERT_TRUE(cpu.has_value());
  const Json attr = cpu->ToJson();
  EXPECT_EQ(attr["cpus"], 2.5);
  EXPECT_EQ(attr["memory_gb"], 8.0);
  EXPECT_EQ(CudaVisibleDevicesFor(attr), "");  // a CPU trial on a GPU host sees no GPU
  EXPECT_EQ(ThreadsFor(attr), 2);
  EXPECT_EQ(MemoryLimitBytesFor(attr), int64_t{8000000000});
  std::optional<ResourceGrant> gpu = Allocate(ResourceRequest::FromNumbers(std::nullopt, 2.0, std::nullopt), inv, {});
  ASSERT_TRUE(gpu.has_value());
  EXPECT_EQ(CudaVisibleDevicesFor(gpu->ToJson()), "0,1");
  EXPECT_EQ(ThreadsFor(gpu->ToJson()), std::nullopt);
  EXPECT_EQ(MemoryLimitBytesFor(gpu->ToJson()), std::nullopt);
  // No GPU on the host and none asked for: CUDA_VISIBLE_DEVICES is left alone.
  std::optional<ResourceGrant> none =
      Allocate(ResourceRequest::FromNumbers(1.0, std::nullopt, std::nullopt), FakeInventory(2, {}), {});
  ASSERT_TRUE(none.has_value());
  EXPECT_EQ(CudaVisibleDevicesFor(none->ToJson()), std::nullopt);
}

TEST(Packing, ATrialLargerThanTheHostIsRefusedWithItsKeyAndSource) {
  HostInventory inv = FakeInventory(2, {"0"});
  inv.gpus_source = "--gpus";
  Status s = CheckRequestFits(ResourceRequest::FromNumbers(std::nullopt, 2.0, std::nullopt), inv,
                              [](const std::string&) { return std::string("study.yaml:4: "); });
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("study.yaml:4: resources_per_trial.gpus: a trial needs 2 GPU(s)"));
  EXPECT_THAT(s.message(), HasSubstr("1 (0) (from --gpus"));
  s = CheckRequestFits(ResourceRequest::FromNumbers(3.0, std::nullopt, std::nullopt), inv);
  EXPECT_THAT(s.message(), HasSubstr("resources_per_trial.cpus: a trial needs 3 CPU(s)"));
  s = CheckRequestFits(ResourceRequest::FromNumbers(std::nullopt, std::nullopt, 17.0), inv);
  EXPECT_THAT(s.message(), HasSubstr("resources_per_trial.memory_gb: a trial needs 17 GB"));
  s = CheckRequestFits(ResourceRequest::FromNumbers(std::nullopt, 0.5, std::nullopt), FakeInventory(2, {}));
  EXPECT_THAT(s.message(), HasSubstr("this host has: none"));
  EXPECT_TRUE(CheckRequestFits(ResourceRequest::FromNumbers(2.0, 1.0, 16.0), inv).ok());
}

TEST(Ledger, LeasesAreGivenBackWhenReleased) {
  LedgerDir dir;
  const ResourceRequest half = ResourceRequest::FromNumbers(1.0, 0.5, std::nullopt);
  Result<std::unique_ptr<ResourceLedger>> ledger = ResourceLedger::Open(FakeInventory(2, {"0"}), half, dir.path());
  ASSERT_TRUE(ledger.ok()) << ledger.status().ToString();
  Result<std::unique_ptr<ResourceLease>> a = (*ledger)->TryAcquire();
  Result<std::unique_ptr<ResourceLease>> b = (*ledger)->TryAcquire();
  ASSERT_TRUE(a.ok() && *a != nullptr && b.ok() && *b != nullptr);
  EXPECT_EQ((*a)->grant().gpus[0].id, "0");
  EXPECT_EQ((*b)->grant().gpus[0].id, "0");
  Result<std::unique_ptr<ResourceLease>> c = (*ledger)->TryAcquire();
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(*c, nullptr);  // 2 CPUs and one GPU are taken
  EXPECT_EQ((*ledger)->Entries()->size(), 2u);
  EXPECT_TRUE((*a)->Release().ok());
  EXPECT_EQ((*ledger)->Entries()->size(), 1u);
  c = (*ledger)->TryAcquire();
  ASSERT_TRUE(c.ok() && *c != nullptr);
  b->reset();  // released by its destructor
  c->reset();
  EXPECT_TRUE((*ledger)->Entries()->empty());
}

TEST(Ledger, ADeadOwnersEntryIsReclaimed) {
  LedgerDir dir;
  const ResourceRequest whole = ResourceRequest::FromNumbers(std::nullopt, 1.0, std::nullopt);
  Result<std::unique_ptr<ResourceLedger>> ledger = ResourceLedger::Open(FakeInventory(2, {"0"}), whole, dir.path());
  ASSERT_TRUE(ledger.ok());
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    // Takes the GPU and dies without giving it back (no destructor runs after _exit).
    Result<std::unique_ptr<ResourceLease>> lease = (*ledger)->TryAcquire();
    _exit(lease.ok() && *lease != nullptr ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  std::ifstream file(dir.path() + "/ledger.json");
  std::string text((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  EXPECT_THAT(text, HasSubstr("\"pid\":" + std::to_string(child)));  // still written down
  Result<std::unique_ptr<ResourceLease>> lease = (*ledger)->TryAcquire();
  ASSERT_TRUE(lease.ok() && *lease != nullptr);  // the dead child's GPU is free again
  EXPECT_EQ((*ledger)->Entries()->size(), 1u);
}

TEST(Ledger, AReusedPidDoesNotKeepAnEntryAlive) {
  LedgerDir dir;
  const std::optional<int64_t> start = ProcessStartTime(getpid());
  ASSERT_TRUE(start.has_value());
  // An entry that names this pid with another start time was written by an earlier process with the same pid.
  std::ofstream(dir.path() + "/ledger.json")
      << R"({"entries": [{"lease": "old", "pid": )" << getpid() << R"(, "start": )" << (*start + 1)
      << R"(, "cpus_milli": 2000, "memory_mb": 0, "gpus": [{"id": "0", "milli": 1000}]}]})";
  Result<std::unique_ptr<ResourceLedger>> ledger =
      ResourceLedger::Open(FakeInventory(2, {"0"}), ResourceRequest::FromNumbers(2.0, 1.0, std::nullopt), dir.path());
  ASSERT_TRUE(ledger.ok());
  EXPECT_TRUE((*ledger)->Entries()->empty());
  Result<std::unique_ptr<ResourceLease>> lease = (*ledger)->TryAcquire();
  ASSERT_TRUE(lease.ok() && *lease != nullptr);
}

TEST(Ledger, ACorruptLedgerIsAnErrorNamingTheFile) {
  LedgerDir dir;
  std::ofstream(dir.path() + "/ledger.json") << "not json";
  Result<std::unique_ptr<ResourceLedger>> ledger = ResourceLedger::Open(
      FakeInventory(2, {}), ResourceRequest::FromNumbers(1.0, std::nullopt, std::nullopt), dir.path());
  ASSERT_TRUE(ledger.ok());
  Result<std::unique_ptr<ResourceLease>> lease = (*ledger)->TryAcquire();
  ASSERT_FALSE(lease.ok());
  EXPECT_THAT(lease.status().message(), HasSubstr(dir.path() + "/ledger.json"));
}

TEST(Ledger, AcquireWaitsForAReleaseAndHonoursTheStopFlag) {
  LedgerDir dir;
  Result<std::unique_ptr<ResourceLedger>> ledger = ResourceLedger::Open(
      FakeInventory(1, {}), ResourceRequest::FromNumbers(1.0, std::nullopt, std::nullopt), dir.path());
  ASSERT_TRUE(ledger.ok());
  Result<std::unique_ptr<ResourceLease>> held = (*ledger)->TryAcquire();
  ASSERT_TRUE(held.ok() && *held != nullptr);
  std::atomic<bool> stop{false};
  std::thread releaser([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    held->reset();
  });
  Result<std::unique_ptr<ResourceLease>> waited = (*ledger)->Acquire(&stop, std::chrono::milliseconds(10));
  releaser.join();
  ASSERT_TRUE(waited.ok() && *waited != nullptr);

  std::thread stopper([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    stop.store(true);
  });
  Result<std::unique_ptr<ResourceLease>> stopped = (*ledger)->Acquire(&stop, std::chrono::milliseconds(10));
  stopper.join();
  ASSERT_TRUE(stopped.ok());
  EXPECT_EQ(*stopped, nullptr);
}

// Processes hammering one ledger: at no moment do more trials hold resources than the inventory allows.
TEST(Ledger, ContendingProcessesNeverOverAllocate) {
  LedgerDir dir;
  constexpr int kProcesses = 4;
  constexpr int kRounds = 25;
  // One GPU in halves: at most two holders at once, though CPUs would allow three.
  const HostInventory inv = FakeInventory(3, {"0"});
  const ResourceRequest request = ResourceRequest::FromNumbers(1.0, 0.5, std::nullopt);
  struct Shared {
    std::atomic<int> holders;
    std::atomic<int> max_holders;
  };
  void* memory = mmap(nullptr, sizeof(Shared), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(memory, MAP_FAILED);
  Shared* shared = new (memory) Shared{{0}, {0}};
  std::vector<pid_t> children;
  for (int p = 0; p < kProcesses; ++p) {
    const pid_t child = fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      Result<std::unique_ptr<ResourceLedger>> ledger = ResourceLedger::Open(inv, request, dir.path());
      if (!ledger.ok()) _exit(2);
      for (int r = 0; r < kRounds; ++r) {
        Result<std::unique_ptr<ResourceLease>> lease = (*ledger)->Acquire(nullptr, std::chrono::milliseconds(1));
        if (!lease.ok() || *lease == nullptr) _exit(3);
        const int now = shared->holders.fetch_add(1) + 1;
        int seen = shared->max_holders.load();
        while (now > seen && !shared->max_holders.compare_exchange_weak(seen, now)) {
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
        shared->holders.fetch_sub(1);
        if (!(*lease)->Release().ok()) _exit(4);
      }
      _exit(0);
    }
    children.push_back(child);
  }
  for (pid_t child : children) {
    int status = 0;
    ASSERT_EQ(waitpid(child, &status, 0), child);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "child exit status " << status;
  }
  EXPECT_LE(shared->max_holders.load(), 2);
  EXPECT_GE(shared->max_holders.load(), 1);
  munmap(memory, sizeof(Shared));
  Result<std::unique_ptr<ResourceLedger>> ledger = ResourceLedger::Open(inv, request, dir.path());
  ASSERT_TRUE(ledger.ok());
  EXPECT_TRUE((*ledger)->Entries()->empty());
}

// Three worker loops sharing a study and a ledger of one GPU in halves: every trial records its grant, at most two
// run at once, and the ledger is empty when they are done.
TEST(WorkerLoopResources, TrialsRecordTheirGrantAndAtMostTwoShareTheGpu) {
  LedgerDir dir;
  Result<std::shared_ptr<Storage>> storage = OpenStorage("memory://");
  ASSERT_TRUE(storage.ok()) << storage.status().ToString();
  StudyOptions study_options;
  study_options.study_name = "gpu";
  study_options.sampler = "random";
  study_options.seed = 1;
  study_options.load_if_exists = true;
  const HostInventory inv = FakeInventory(8, {"0"});
  const ResourceRequest half = ResourceRequest::FromNumbers(std::nullopt, 0.5, std::nullopt);
  std::atomic<int> running{0};
  std::atomic<int> max_running{0};
  std::atomic<int> failures{0};
  ObjectiveFunction objective = [&](Trial& trial) -> Result<std::vector<double>> {
    const int now = running.fetch_add(1) + 1;
    int seen = max_running.load();
    while (now > seen && !max_running.compare_exchange_weak(seen, now)) {
    }
    auto it = trial.frozen().system_attrs.find(kResourcesAttr);
    if (it == trial.frozen().system_attrs.end() || CudaVisibleDevicesFor(it->second) != "0") failures.fetch_add(1);
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
    running.fetch_sub(1);
    DIAL_ASSIGN_OR_RETURN(double x, trial.SuggestFloat("x", 0.0, 1.0));
    return std::vector<double>{x};
  };
  std::vector<std::thread> workers;
  for (int w = 0; w < 3; ++w) {
    workers.emplace_back([&] {
      Result<std::unique_ptr<Study>> study = Study::Create(*storage, study_options);
      Result<std::unique_ptr<ResourceLedger>> ledger = ResourceLedger::Open(inv, half, dir.path());
      if (!study.ok() || !ledger.ok()) {
        failures.fetch_add(1);
        return;
      }
      WorkerLoopOptions options;
      options.study_n_trials = 12;
      options.resources = ledger->get();
      if (!RunWorkerLoop(**study, objective, options).ok()) failures.fetch_add(1);
    });
  }
  for (std::thread& t : workers) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_LE(max_running.load(), 2);
  Result<StudyId> id = (*storage)->GetStudyIdFromName("gpu");
  ASSERT_TRUE(id.ok());
  Result<std::vector<FrozenTrial>> trials = (*storage)->GetAllTrials(*id);
  ASSERT_TRUE(trials.ok());
  EXPECT_EQ(trials->size(), 12u);
  for (const FrozenTrial& t : *trials) {
    EXPECT_EQ(t.state, TrialState::kComplete);
    EXPECT_EQ(t.system_attrs.at(kResourcesAttr), (Json{{"gpus", {{{"id", "0"}, {"share", 0.5}}}}}));
  }
  Result<std::unique_ptr<ResourceLedger>> ledger = ResourceLedger::Open(inv, half, dir.path());
  ASSERT_TRUE(ledger.ok());
  EXPECT_TRUE((*ledger)->Entries()->empty());
}

TEST(MemoryWatch, SumsTheResidentMemoryOfAProcessGroup) {
  SpawnOptions spawn;
  spawn.executable = "/bin/sh";
  spawn.argv = {"sh", "-c", "sleep 5 & sleep 5"};
  Result<std::unique_ptr<Subprocess>> proc = Subprocess::Spawn(spawn);
  ASSERT_TRUE(proc.ok()) << proc.status().ToString();
  // Both sleeps and the shell are in the child's group: each has at least a page resident.
  int64_t resident = 0;
  for (int k = 0; k < 100 && resident == 0; ++k) {
    resident = (*proc)->GroupResidentBytes();
    if (resident == 0) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_GT(resident, 0);
  EXPECT_EQ(ProcessGroupResidentBytes(999999999), 0);  // no such group
  (*proc)->SignalGroup(SIGKILL);
  (*proc)->Wait();
  EXPECT_EQ((*proc)->GroupResidentBytes(), 0);
}

}  // namespace
}  // namespace dial
