// Resources per trial (docs/parallel.md): the host's inventory (CPUs, memory, GPUs; detected or configured), and a
// ledger shared by every dial process of this user on the host through a file under flock, from which a worker takes
// a trial's CPUs, GPU shares and memory before the trial starts and gives them back when it ends.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "dial/frozen_trial.h"
#include "dial/status.h"

namespace dial {

// The trial system attr that records what a trial got: {"cpus": 2, "memory_gb": 8, "gpus": [{"id": "0", "share":
// 0.5}]}; "gpus" only when the host has GPUs or the trial asked for some, "cpus"/"memory_gb" only when asked for.
inline constexpr const char* kResourcesAttr = "dial:resources";

// Amounts are counted in thousandths (of a CPU, of a GPU) and in MiB, so that 0.5 + 0.5 is exactly one GPU.
inline constexpr int64_t kResourceUnitsPerWhole = 1000;

// What one trial needs. Zero: not asked for (not counted).
struct ResourceRequest {
  int64_t cpus_milli = 0;
  int64_t gpus_milli = 0;  // up to 1000: a share of one GPU; above: whole GPUs (a multiple of 1000)
  int64_t memory_mb = 0;
  bool empty() const { return cpus_milli == 0 && gpus_milli == 0 && memory_mb == 0; }
  // From the study file's numbers (cpus, gpus, memory_gb), rounded to the units above.
  static ResourceRequest FromNumbers(std::optional<double> cpus, std::optional<double> gpus,
                                     std::optional<double> memory_gb);
};

// What a host offers, and where each figure came from ("sched_getaffinity", "/proc/meminfo", "--gpus",
// "$DIAL_GPUS", "$CUDA_VISIBLE_DEVICES", "nvidia-smi", ...), for messages.
struct HostInventory {
  int64_t cpus_milli = 0;
  int64_t memory_mb = 0;
  std::vector<std::string> gpus;   // ids as CUDA_VISIBLE_DEVICES takes them ("0", "1", or "GPU-<uuid>")
  bool gpus_in_pci_order = false;  // the ids are nvidia-smi's (PCI bus order), so trials need CUDA_DEVICE_ORDER
  std::string cpus_source;
  std::string memory_source;
  std::string gpus_source;
};

// A configured inventory: each field given replaces the detected one (flags --cpus, --memory-gb, --gpus).
struct InventoryOverrides {
  std::optional<std::string> gpus;  // "0,1"; "" or "none": no GPU
  std::optional<double> cpus;
  std::optional<double> memory_gb;
  std::string gpus_source = "--gpus";
  std::string cpus_source = "--cpus";
  std::string memory_source = "--memory-gb";
};

// The inventory of this host: `flags` first, then $DIAL_GPUS, $DIAL_CPUS, $DIAL_MEMORY_GB, then detection (CPUs
// from sched_getaffinity; memory from /proc/meminfo, or the cgroup's limit when lower; GPUs from
// $CUDA_VISIBLE_DEVICES when set, else `nvidia-smi --query-gpu=index` when that program is on PATH, else none).
// InvalidArgument naming the flag or variable when a configured value is malformed.
Result<HostInventory> DetectHostInventory(const InventoryOverrides& flags);

// Parsers behind DetectHostInventory, exposed for tests.
// "0,1" → {"0","1"}; CUDA's rule: the list ends at the first empty or negative entry ("-1" hides every GPU).
std::vector<std::string> ParseGpuList(const std::string& text);
// The indices printed by `nvidia-smi --query-gpu=index --format=csv,noheader`, one per line.
std::vector<std::string> ParseNvidiaSmiIndices(const std::string& text);
// MemTotal of /proc/meminfo, in bytes; nullopt when absent.
std::optional<int64_t> ParseMemInfoTotalBytes(const std::string& text);
// A cgroup memory limit file (v2 memory.max: "max" or bytes; v1 limit_in_bytes); nullopt when unlimited.
std::optional<int64_t> ParseCgroupMemoryLimit(const std::string& text);

// InvalidArgument when one trial needs more than `inventory` has at all (it could never start): names the key
// ("resources_per_trial.gpus"), the need, and the inventory with its source. `where(key)`, when given, prefixes the
// message (the study file and the key's line: "study.yaml:5: ").
Status CheckRequestFits(const ResourceRequest& request, const HostInventory& inventory,
                        const std::function<std::string(const std::string& key)>& where = nullptr);

// What a trial was given.
struct GpuShare {
  std::string id;
  int64_t milli = 0;  // 1000: the whole GPU
};
struct ResourceGrant {
  int64_t cpus_milli = 0;
  int64_t memory_mb = 0;
  std::vector<GpuShare> gpus;
  bool host_has_gpus = false;
  bool gpus_in_pci_order = false;
  // The kResourcesAttr value (with "cuda_device_order": "PCI_BUS_ID" when gpus_in_pci_order).
  Json ToJson() const;
};

// The value of CUDA_VISIBLE_DEVICES for a trial whose kResourcesAttr is `attr` ("0", "0,1", or "" for a CPU trial
// on a GPU host); nullopt when the attr says nothing about GPUs (the host has none and none was asked for).
std::optional<std::string> CudaVisibleDevicesFor(const Json& attr);
// The threads a trial with kResourcesAttr `attr` should use: max(1, floor(cpus)); nullopt when cpus was not asked for.
std::optional<int64_t> ThreadsFor(const Json& attr);
// The memory limit in bytes of a trial with kResourcesAttr `attr`; nullopt when none.
std::optional<int64_t> MemoryLimitBytesFor(const Json& attr);

// One allocation as stored in the ledger.
struct LedgerEntry {
  std::string lease;  // unique per allocation
  pid_t pid = 0;      // the owner
  int64_t start = 0;  // the owner's start time (clock ticks after boot, /proc/PID/stat), against pid reuse
  ResourceGrant grant;
};

// Packs `request` onto `inventory` beside `held`: CPUs and memory by sum; a GPU share on the fullest GPU it still
// fits on (lowest id first among equals), so 0.5 + 0.5 fill one GPU before the next is touched; whole GPUs only on
// GPUs nothing holds. nullopt when it does not fit now. Held entries naming GPUs unknown to `inventory` are ignored.
std::optional<ResourceGrant> Allocate(const ResourceRequest& request, const HostInventory& inventory,
                                      const std::vector<LedgerEntry>& held);

// The start time of process `pid` (field 22 of /proc/PID/stat); nullopt when it is gone or a zombie.
std::optional<int64_t> ProcessStartTime(pid_t pid);

class ResourceLedger;

// Resources held for one trial; given back when destroyed (or by Release). Not thread-safe.
class ResourceLease {
 public:
  ~ResourceLease();
  ResourceLease(const ResourceLease&) = delete;
  ResourceLease& operator=(const ResourceLease&) = delete;
  const ResourceGrant& grant() const { return grant_; }
  // Removes the entry from the ledger; IoError when the ledger cannot be written (the entry is then reclaimed when
  // this process ends). Idempotent.
  Status Release();

 private:
  friend class ResourceLedger;
  ResourceLease(std::string dir, std::string lease, ResourceGrant grant)
      : dir_(std::move(dir)), lease_(std::move(lease)), grant_(std::move(grant)) {}
  std::string dir_;
  std::string lease_;
  ResourceGrant grant_;
  bool released_ = false;
};

// The ledger of one host: a JSON file `ledger.json` in `dir`, read and rewritten under flock on `dir/ledger.lock`.
// Entries whose owner process has ended (or whose pid now belongs to another process) are dropped whenever the
// ledger is written. Thread-safe (each call takes the file lock); any number of processes may share `dir`.
class ResourceLedger {
 public:
  // `dir`: empty for the default, $DIAL_RESOURCE_DIR or /tmp/dial-resources-<uid>; created (mode 0700) if missing.
  // IoError naming the directory when it cannot be created or is not ours.
  static Result<std::unique_ptr<ResourceLedger>> Open(HostInventory inventory, ResourceRequest request,
                                                      std::string dir = "");

  // Takes the request's resources when they are free now; nullptr when not. IoError on a ledger it cannot use.
  Result<std::unique_ptr<ResourceLease>> TryAcquire();
  // Waits (polling every `poll`) until the resources are free, then takes them; nullptr when `stop_flag` is set
  // first.
  Result<std::unique_ptr<ResourceLease>> Acquire(const std::atomic<bool>* stop_flag,
                                                 std::chrono::milliseconds poll = std::chrono::milliseconds(200));
  // The live entries (dead owners' dropped), for tests and diagnostics.
  Result<std::vector<LedgerEntry>> Entries();

  const std::string& dir() const { return dir_; }
  const HostInventory& inventory() const { return inventory_; }
  const ResourceRequest& request() const { return request_; }

 private:
  ResourceLedger(HostInventory inventory, ResourceRequest request, std::string dir)
      : inventory_(std::move(inventory)), request_(request), dir_(std::move(dir)) {}
  HostInventory inventory_;
  ResourceRequest request_;
  std::string dir_;
};

// The default ledger directory: $DIAL_RESOURCE_DIR when set, else /tmp/dial-resources-<uid>.
std::string DefaultResourceDir();

}  // namespace dial
