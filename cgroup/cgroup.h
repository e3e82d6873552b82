// Container cgroups: layout detection, discovery and sampling.
//
// Every read goes through the root given to DetectLayout (the
// --cgroup.root flag), so fixture trees under tests/fixtures/cgroup drive
// the same code that reads /sys/fs/cgroup. The v1 and v2 file parsers are
// private to this module.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace leakwatch::cgroup {

enum class Version { kV1, kV2 };

// One controller's hierarchy: the directory that is the root of the
// hierarchy carrying it, and which cgroup version that hierarchy is.
struct Hierarchy {
  std::filesystem::path dir;  // empty when the controller was not found
  Version version = Version::kV1;
  bool found() const { return !dir.empty(); }
};

// What DetectLayout found under a root. Thread-safety: a plain value.
struct Layout {
  enum class Kind {
    kV1,      // controllers on v1 mounts, no v2 hierarchy
    kV2,      // unified hierarchy with controllers at the root
    kHybrid,  // controllers on v1, a v2 hierarchy (usually root/unified)
  };
  Kind kind = Kind::kV1;
  std::filesystem::path root;
  Hierarchy memory;   // required: discovery walks this hierarchy
  Hierarchy cpu;      // cpu.stat: throttling (and usage on v2)
  Hierarchy cpuacct;  // v1 cpuacct.usage; on v2 the same as cpu
  // The v2 hierarchy, where PSI files (memory.pressure) live even when it
  // carries no controllers. Empty on pure v1.
  std::filesystem::path unified;

  // "hybrid (memory=v1:/sys/fs/cgroup/memory cpu=...)" for the startup log.
  std::string Describe() const;
};

// Probes the files under root (not /proc/self/mountinfo, since root may be
// a fixture tree) to find which hierarchy carries each controller. v1
// controllers may be mounted apart (memory, cpu, cpuacct) or co-mounted
// (cpu,cpuacct, possibly behind cpu -> cpu,cpuacct symlinks). Fails with
// kNotFound when no memory controller is found under root.
Result<Layout> DetectLayout(const std::filesystem::path& root);

// A container's cgroup as discovered.
struct Container {
  std::string id;    // the 64-hex container ID taken from the cgroup path
  std::string path;  // relative to the hierarchy root, starting with '/'
};

// The container ID named by a cgroup path, if the path's last component is
// a container runtime's container cgroup: docker/<id>, docker-<id>.scope,
// libpod-<id>[.scope], cri-containerd-<id>.scope, crio-<id>.scope, or a
// bare <id> / <runtime>-<id>.scope below a kubepods ancestor. Pod-level and
// conmon cgroups are not containers.
std::optional<std::string_view> ContainerIdFromPath(std::string_view path);

// Walks the memory hierarchy and returns every container cgroup, sorted by
// id, once per id. Does not descend below a container's own cgroup. A
// directory that vanishes during the walk is skipped silently.
Result<std::vector<Container>> Discover(const Layout& layout);

// One reading of a container's cgroup files. Byte values are exactly what
// the kernel files say. std::nullopt means "not available here" (no swap
// accounting, no PSI, unlimited memory), never zero.
struct Sample {
  // v1 memory.usage_in_bytes, v2 memory.current.
  std::uint64_t usage_bytes = 0;
  // usage - inactive file, floored at 0.
  std::uint64_t working_set_bytes = 0;
  // v1 total_rss, v2 anon.
  std::uint64_t rss_bytes = 0;
  // v1 total_cache, v2 file.
  std::uint64_t cache_bytes = 0;
  // v1 total_swap, v2 memory.swap.current.
  std::optional<std::uint64_t> swap_bytes;
  // nullopt when unlimited.
  std::optional<std::uint64_t> limit_bytes;
  // oom_kill in memory.oom_control / memory.events.
  std::optional<std::uint64_t> oom_kills;
  // v1 cpuacct.usage, v2 cpu.stat usage_usec.
  std::optional<std::uint64_t> cpu_usage_ns;
  // cpu.stat throttled_time / throttled_usec.
  std::optional<std::uint64_t> cpu_throttled_ns;
  // memory.pressure "some ... total=".
  std::optional<std::uint64_t> psi_memory_some_us;
  // memory.pressure "full ... total=".
  std::optional<std::uint64_t> psi_memory_full_us;

  // What the memory is made of (docs/leak-detection.md, "Signal"). Absent
  // where the kernel does not say.
  //
  // shmem and tmpfs pages (v1 total_shmem, v2 shmem). Counted in
  // cache_bytes, yet never reclaimable while the file or segment exists.
  std::optional<std::uint64_t> shmem_bytes;
  // File pages mapped into processes (v1 total_mapped_file, v2
  // file_mapped); file memory, not part of the leak signal.
  std::optional<std::uint64_t> mapped_file_bytes;
  // The file LRU lists (v1 total_active_file / total_inactive_file, v2
  // active_file / inactive_file): reclaimable page cache.
  std::optional<std::uint64_t> active_file_bytes;
  std::optional<std::uint64_t> inactive_file_bytes;
  // Kernel memory charged to the cgroup: v2 kernel (5.18+), else the sum
  // of its parts (kernel_stack, pagetables, percpu, vmalloc, slab); v1
  // memory.kmem.usage_in_bytes, else usage minus the LRU pages, which
  // kernel_approximate then says.
  std::optional<std::uint64_t> kernel_bytes;
  bool kernel_approximate = false;
  // Parts of kernel memory, where the kernel splits them (v2 only).
  std::optional<std::uint64_t> slab_bytes;
  std::optional<std::uint64_t> kernel_stack_bytes;
  std::optional<std::uint64_t> pagetables_bytes;
  // Socket buffers (v2 sock); outside v2's kernel. v1 charges them to
  // memory.kmem.tcp.* only, not to the usage the limit counts.
  std::optional<std::uint64_t> sock_bytes;
};

// The PIDs in a container's cgroup (its cgroup.procs on the memory
// hierarchy), in the reader's PID namespace. Processes in the container's
// own sub-cgroups are not listed. kNotFound when the cgroup is gone. Opened
// and read anew on each call: it is read every --leak.process-interval, not
// every sample.
Result<std::vector<std::int32_t>> ReadProcesses(const Layout& layout,
                                                const Container& container);

// Reads one container's files. Opens them once and re-reads them with
// pread, and parses in place, so a sample allocates nothing.
//
// Thread-safety: none. One reader per container, owned by the sampling loop.
class ContainerReader {
 public:
  // Opens the container's files. kNotFound when its memory cgroup is gone.
  static Result<ContainerReader> Open(const Layout& layout,
                                      const Container& container);

  ContainerReader(ContainerReader&& other) noexcept;
  ContainerReader& operator=(ContainerReader&& other) noexcept;
  ContainerReader(const ContainerReader&) = delete;
  ContainerReader& operator=(const ContainerReader&) = delete;
  ~ContainerReader();

  // Reads every file. kNotFound when the cgroup vanished (ENOENT, ENODEV,
  // ESRCH, or a file that reads empty as a dying cgroup's do): the caller
  // ends the container's series without logging an error. kParse when a
  // file does not have the kernel's format. scratch must hold the largest
  // file (memory.stat); kScratchSize is enough.
  Result<Sample> Read(std::span<char> scratch);

  static constexpr std::size_t kScratchSize = 16 * 1024;

 private:
  struct Files;  // the open descriptors, defined in reader.cc
  explicit ContainerReader(std::unique_ptr<Files> files);
  std::unique_ptr<Files> files_;
};

}  // namespace leakwatch::cgroup
