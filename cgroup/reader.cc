// ContainerReader: samples one container's cgroup files.
//
// Files are opened once and re-read with pread at offset 0: cgroupfs
// regenerates a file's content on every read from the start, and a kept
// descriptor saves the path lookup and the open/close of a fresh one. Each
// file is read into the caller's scratch buffer and parsed in place, so
// Read allocates only when it builds an Error.
#include <fcntl.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>

#include "cgroup/cgroup.h"
#include "cgroup/detail/parse.h"

namespace leakwatch::cgroup {
namespace detail {
namespace {

// Errors that mean the cgroup is gone: ENOENT (a file missing at open),
// ENODEV (kernfs deactivated the files of a removed cgroup under their open
// descriptors), ESRCH (what some cgroup operations answer for a dying
// cgroup), ENOTDIR (a path component that is no longer a directory).
bool IsVanished(int err) {
  return err == ENOENT || err == ENODEV || err == ESRCH || err == ENOTDIR;
}

Unexpected ErrnoError(int err, const std::string& path) {
  if (IsVanished(err)) {
    return MakeError(ErrorCode::kNotFound,
                     path + ": cgroup removed (" +
                         std::generic_category().message(err) + ")");
  }
  return MakeError(ErrorCode::kIo,
                   path + ": " + std::generic_category().message(err));
}

}  // namespace

// One open cgroup file and the path it was opened from, kept for error
// messages. Move-only; closes the descriptor on destruction.
class CgroupFile {
 public:
  CgroupFile() = default;
  CgroupFile(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  CgroupFile(CgroupFile&& other) noexcept
      : fd_(std::exchange(other.fd_, -1)), path_(std::move(other.path_)) {}
  CgroupFile& operator=(CgroupFile&& other) noexcept {
    if (this != &other) {
      Close();
      fd_ = std::exchange(other.fd_, -1);
      path_ = std::move(other.path_);
    }
    return *this;
  }
  CgroupFile(const CgroupFile&) = delete;
  CgroupFile& operator=(const CgroupFile&) = delete;
  ~CgroupFile() { Close(); }

  bool is_open() const { return fd_ >= 0; }
  const std::string& path() const { return path_; }

  // Whether the file lives on a cgroup file system (v1 or v2).
  bool OnCgroupFs() const {
    struct statfs fs;
    if (::fstatfs(fd_, &fs) != 0) return false;
    return fs.f_type == CGROUP_SUPER_MAGIC || fs.f_type == CGROUP2_SUPER_MAGIC;
  }

  // Whether the file was removed since it was opened. Only needed off
  // cgroupfs: a plain file stays readable through its open descriptor after
  // being unlinked, where kernfs answers ENODEV.
  bool Unlinked() const {
    struct stat st;
    return ::fstat(fd_, &st) == 0 && st.st_nlink == 0;
  }

  // The file's whole content, read into scratch. cgroup files are
  // seq_files printed in one piece, so a single pread returns all of it
  // when the buffer is large enough; a read that fills the buffer means it
  // was not.
  Result<std::string_view> Read(std::span<char> scratch) const {
    ssize_t n = 0;
    do {
      n = ::pread(fd_, scratch.data(), scratch.size(), 0);
    } while (n < 0 && errno == EINTR);
    if (n < 0) return ErrnoError(errno, path_);
    // A dying cgroup's files read empty before they go away.
    if (n == 0) {
      return MakeError(ErrorCode::kNotFound,
                       path_ + ": empty, cgroup is being removed");
    }
    if (static_cast<std::size_t>(n) >= scratch.size()) {
      return MakeError(ErrorCode::kIo, path_ + ": does not fit the " +
                                           std::to_string(scratch.size()) +
                                           "-byte scratch buffer");
    }
    return std::string_view(scratch.data(), static_cast<std::size_t>(n));
  }

 private:
  void Close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

  int fd_ = -1;
  std::string path_;
};

}  // namespace detail

// The open files of one container, which version's format each has, and
// the readers of each group of files. Defined here so that cgroup.h
// carries none of it.
struct ContainerReader::Files {
  Result<void> ReadMemoryV1(std::span<char> scratch, Sample& sample) const;
  Result<void> ReadMemoryV2(std::span<char> scratch, Sample& sample) const;
  Result<void> ReadCpu(std::span<char> scratch, Sample& sample) const;
  Result<void> ReadPressure(std::span<char> scratch, Sample& sample) const;

  Version memory_version_ = Version::kV1;
  // Set for trees that are not on cgroupfs (fixtures): there a removed
  // cgroup's files must be noticed through their link count.
  bool check_unlinked_ = false;
  detail::CgroupFile usage_;   // v1 memory.usage_in_bytes, v2 memory.current
  detail::CgroupFile stat_;    // memory.stat
  detail::CgroupFile limit_;   // v1 memory.limit_in_bytes, v2 memory.max
  detail::CgroupFile events_;  // v1 memory.oom_control, v2 memory.events
  detail::CgroupFile swap_;    // v2 memory.swap.current; optional
  detail::CgroupFile kmem_;    // v1 memory.kmem.usage_in_bytes; optional
  detail::CgroupFile cpuacct_usage_;  // v1 cpuacct.usage; optional
  detail::CgroupFile cpu_stat_;       // cpu.stat; optional
  Version cpu_stat_version_ = Version::kV1;
  detail::CgroupFile pressure_;  // memory.pressure on the v2 hierarchy
};

namespace {

using detail::CgroupFile;
using detail::FlatKey;

enum class Need { kRequired, kOptional };

// Opens <dir><relative>/<name>. An optional file that is not there gives a
// closed CgroupFile.
Result<CgroupFile> OpenFile(const std::filesystem::path& dir,
                            std::string_view relative, std::string_view name,
                            Need need) {
  std::string path = dir.native();
  path.append(relative).append("/").append(name);
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const int err = errno;
    if (need == Need::kOptional &&
        (err == ENOENT || err == ENOTDIR || err == ENODEV || err == ESRCH)) {
      return CgroupFile();
    }
    return detail::ErrnoError(err, path);
  }
  return CgroupFile(fd, std::move(path));
}

Result<std::uint64_t> ReadValue(const CgroupFile& file,
                                std::span<char> scratch) {
  auto content = file.Read(scratch);
  if (!content) return PassOn(std::move(content.error()));
  auto value = detail::ParseSingleValue(*content, file.path(), false);
  if (!value) return PassOn(std::move(value.error()));
  return **value;
}

// Reads a flat-keyed file into keys. The keys before required_count must be
// present.
Result<void> ReadKeys(const CgroupFile& file, std::span<char> scratch,
                      std::span<const FlatKey> keys,
                      std::size_t required_count) {
  auto content = file.Read(scratch);
  if (!content) return PassOn(std::move(content.error()));
  auto parsed = detail::ParseFlatKeyed(*content, file.path(), keys);
  if (!parsed) return PassOn(std::move(parsed.error()));
  for (std::size_t i = 0; i < required_count; ++i) {
    if (!keys[i].value->has_value()) {
      return MakeError(
          ErrorCode::kParse,
          file.path() + ": key " + std::string(keys[i].key) + " missing");
    }
  }
  return {};
}

// usec to ns; a value that does not fit is reported rather than wrapped.
Result<std::uint64_t> MicrosToNanos(std::uint64_t usec, const CgroupFile& file,
                                    std::string_view key) {
  std::uint64_t nsec = 0;
  if (__builtin_mul_overflow(usec, std::uint64_t{1000}, &nsec)) {
    return MakeError(
        ErrorCode::kParse,
        file.path() + ": key " + std::string(key) + " overflows nanoseconds");
  }
  return nsec;
}

}  // namespace

// v1 (Documentation/admin-guide/cgroup-v1/memory.rst): the hierarchical
// total_* counters of memory.stat, which include the container's own
// sub-cgroups; total_swap only when swap is accounted (swapaccount=1).
Result<void> ContainerReader::Files::ReadMemoryV1(std::span<char> scratch,
                                                  Sample& sample) const {
  auto usage_bytes = ReadValue(usage_, scratch);
  if (!usage_bytes) return PassOn(std::move(usage_bytes.error()));
  sample.usage_bytes = *usage_bytes;

  std::optional<std::uint64_t> rss, cache, active_anon, inactive_anon,
      unevictable;
  const FlatKey stat_keys[] = {
      {"total_rss", &rss},
      {"total_cache", &cache},
      {"total_inactive_file", &sample.inactive_file_bytes},
      {"total_swap", &sample.swap_bytes},
      {"total_shmem", &sample.shmem_bytes},
      {"total_mapped_file", &sample.mapped_file_bytes},
      {"total_active_file", &sample.active_file_bytes},
      {"total_active_anon", &active_anon},
      {"total_inactive_anon", &inactive_anon},
      {"total_unevictable", &unevictable}};
  if (auto r = ReadKeys(stat_, scratch, stat_keys, 3); !r) {
    return PassOn(std::move(r.error()));
  }
  sample.rss_bytes = *rss;
  sample.cache_bytes = *cache;
  const std::uint64_t inactive_file = *sample.inactive_file_bytes;
  sample.working_set_bytes = sample.usage_bytes > inactive_file
                                 ? sample.usage_bytes - inactive_file
                                 : 0;
  if (kmem_.is_open()) {
    auto kmem = ReadValue(kmem_, scratch);
    if (!kmem) return PassOn(std::move(kmem.error()));
    sample.kernel_bytes = *kmem;
  } else if (active_anon && inactive_anon && unevictable &&
             sample.active_file_bytes) {
    // Without kmem files, what usage counts beyond the LRU lists is the
    // kernel's own memory; v1's usage is batched per CPU, so this is off
    // by up to a few hundred KiB.
    const std::uint64_t lru = *active_anon + *inactive_anon +
                              *sample.active_file_bytes + inactive_file +
                              *unevictable;
    sample.kernel_bytes =
        sample.usage_bytes > lru ? sample.usage_bytes - lru : 0;
    sample.kernel_approximate = true;
  }

  auto limit_bytes = ReadValue(limit_, scratch);
  if (!limit_bytes) return PassOn(std::move(limit_bytes.error()));
  if (*limit_bytes < detail::kV1UnlimitedThreshold) {
    sample.limit_bytes = *limit_bytes;
  }

  // oom_kill appeared in 4.13; older kernels have only oom_kill_disable and
  // under_oom.
  const FlatKey oom_keys[] = {{"oom_kill", &sample.oom_kills}};
  return ReadKeys(events_, scratch, oom_keys, 0);
}

// v2 (Documentation/admin-guide/cgroup-v2.rst, "Memory Interface Files").
Result<void> ContainerReader::Files::ReadMemoryV2(std::span<char> scratch,
                                                  Sample& sample) const {
  auto usage_bytes = ReadValue(usage_, scratch);
  if (!usage_bytes) return PassOn(std::move(usage_bytes.error()));
  sample.usage_bytes = *usage_bytes;

  std::optional<std::uint64_t> anon, file, percpu, vmalloc, slab_reclaimable,
      slab_unreclaimable;
  const FlatKey stat_keys[] = {{"anon", &anon},
                               {"file", &file},
                               {"inactive_file", &sample.inactive_file_bytes},
                               {"active_file", &sample.active_file_bytes},
                               {"shmem", &sample.shmem_bytes},
                               {"file_mapped", &sample.mapped_file_bytes},
                               {"kernel", &sample.kernel_bytes},
                               {"kernel_stack", &sample.kernel_stack_bytes},
                               {"pagetables", &sample.pagetables_bytes},
                               {"percpu", &percpu},
                               {"vmalloc", &vmalloc},
                               {"sock", &sample.sock_bytes},
                               {"slab", &sample.slab_bytes},
                               {"slab_reclaimable", &slab_reclaimable},
                               {"slab_unreclaimable", &slab_unreclaimable}};
  if (auto r = ReadKeys(stat_, scratch, stat_keys, 3); !r) {
    return PassOn(std::move(r.error()));
  }
  sample.rss_bytes = *anon;
  sample.cache_bytes = *file;
  const std::uint64_t inactive_file = *sample.inactive_file_bytes;
  sample.working_set_bytes = sample.usage_bytes > inactive_file
                                 ? sample.usage_bytes - inactive_file
                                 : 0;
  // slab appeared in 5.9, kernel in 5.18; before, their parts.
  if (!sample.slab_bytes && slab_reclaimable && slab_unreclaimable) {
    sample.slab_bytes = *slab_reclaimable + *slab_unreclaimable;
  }
  if (!sample.kernel_bytes && sample.slab_bytes) {
    sample.kernel_bytes = *sample.slab_bytes +
                          sample.kernel_stack_bytes.value_or(0) +
                          sample.pagetables_bytes.value_or(0) +
                          percpu.value_or(0) + vmalloc.value_or(0);
  }

  auto max_content = limit_.Read(scratch);
  if (!max_content) return PassOn(std::move(max_content.error()));
  auto max = detail::ParseSingleValue(*max_content, limit_.path(), true);
  if (!max) return PassOn(std::move(max.error()));
  sample.limit_bytes = *max;

  // memory.swap.current exists only where swap is accounted.
  if (swap_.is_open()) {
    auto swap_bytes = ReadValue(swap_, scratch);
    if (!swap_bytes) return PassOn(std::move(swap_bytes.error()));
    sample.swap_bytes = *swap_bytes;
  }

  const FlatKey event_keys[] = {{"oom_kill", &sample.oom_kills}};
  return ReadKeys(events_, scratch, event_keys, 0);
}

// v1: cpuacct.usage (ns) and cpu.stat throttled_time (ns). v2: cpu.stat
// usage_usec, always there, and throttled_usec, there only where the cpu
// controller is enabled for the cgroup.
Result<void> ContainerReader::Files::ReadCpu(std::span<char> scratch,
                                             Sample& sample) const {
  if (cpuacct_usage_.is_open()) {
    auto usage_ns = ReadValue(cpuacct_usage_, scratch);
    if (!usage_ns) return PassOn(std::move(usage_ns.error()));
    sample.cpu_usage_ns = *usage_ns;
  }
  if (!cpu_stat_.is_open()) return {};
  if (cpu_stat_version_ == Version::kV1) {
    const FlatKey keys[] = {{"throttled_time", &sample.cpu_throttled_ns}};
    return ReadKeys(cpu_stat_, scratch, keys, 0);
  }
  std::optional<std::uint64_t> usage_usec, throttled_usec;
  const FlatKey keys[] = {{"usage_usec", &usage_usec},
                          {"throttled_usec", &throttled_usec}};
  if (auto r = ReadKeys(cpu_stat_, scratch, keys, 1); !r) {
    return PassOn(std::move(r.error()));
  }
  if (!cpuacct_usage_.is_open()) {
    auto ns = MicrosToNanos(*usage_usec, cpu_stat_, "usage_usec");
    if (!ns) return PassOn(std::move(ns.error()));
    sample.cpu_usage_ns = *ns;
  }
  if (throttled_usec) {
    auto ns = MicrosToNanos(*throttled_usec, cpu_stat_, "throttled_usec");
    if (!ns) return PassOn(std::move(ns.error()));
    sample.cpu_throttled_ns = *ns;
  }
  return {};
}

// memory.pressure. A read that fails leaves PSI unknown instead of failing
// the sample: writing 0 to cgroup.pressure (6.1+) hides the pressure files
// of a live cgroup, and their open descriptors then fail with ENODEV just
// as those of a removed cgroup do. A removed cgroup has already failed on
// its memory files. Content that does not parse is still an error.
Result<void> ContainerReader::Files::ReadPressure(std::span<char> scratch,
                                                  Sample& sample) const {
  if (!pressure_.is_open()) return {};
  auto content = pressure_.Read(scratch);
  if (!content) return {};
  auto psi = detail::ParsePressure(*content, pressure_.path());
  if (!psi) return PassOn(std::move(psi.error()));
  sample.psi_memory_some_us = psi->some_total_us;
  sample.psi_memory_full_us = psi->full_total_us;
  return {};
}

ContainerReader::ContainerReader(std::unique_ptr<Files> files)
    : files_(std::move(files)) {}
ContainerReader::ContainerReader(ContainerReader&& other) noexcept = default;
ContainerReader& ContainerReader::operator=(ContainerReader&& other) noexcept =
    default;
ContainerReader::~ContainerReader() = default;

Result<ContainerReader> ContainerReader::Open(const Layout& layout,
                                              const Container& container) {
  if (!layout.memory.found()) {
    return MakeError(ErrorCode::kNotFound,
                     layout.root.string() + ": no memory hierarchy");
  }
  auto files = std::make_unique<Files>();
  const std::string_view path = container.path;
  files->memory_version_ = layout.memory.version;
  const bool v1 = files->memory_version_ == Version::kV1;

  auto open_into = [path](CgroupFile& target, const std::filesystem::path& dir,
                          std::string_view name, Need need) -> Result<void> {
    auto opened = OpenFile(dir, path, name, need);
    if (!opened) return PassOn(std::move(opened.error()));
    target = std::move(*opened);
    return {};
  };

  // The memory files are required: without them there is no container.
  const std::pair<CgroupFile*, std::string_view> memory_files[] = {
      {&files->usage_, v1 ? "memory.usage_in_bytes" : "memory.current"},
      {&files->stat_, "memory.stat"},
      {&files->limit_, v1 ? "memory.limit_in_bytes" : "memory.max"},
      {&files->events_, v1 ? "memory.oom_control" : "memory.events"},
  };
  for (const auto& [file, name] : memory_files) {
    auto r = open_into(*file, layout.memory.dir, name, Need::kRequired);
    if (!r) return PassOn(std::move(r.error()));
  }

  files->check_unlinked_ = !files->usage_.OnCgroupFs();

  // The rest are optional: a CPU hierarchy the runtime did not join, a
  // kernel without swap accounting or PSI.
  Result<void> r;
  if (!v1) {
    r = open_into(files->swap_, layout.memory.dir, "memory.swap.current",
                  Need::kOptional);
  } else {
    // Gone where the kernel was built without kmem accounting.
    r = open_into(files->kmem_, layout.memory.dir, "memory.kmem.usage_in_bytes",
                  Need::kOptional);
  }
  if (r && layout.cpuacct.found() && layout.cpuacct.version == Version::kV1) {
    r = open_into(files->cpuacct_usage_, layout.cpuacct.dir, "cpuacct.usage",
                  Need::kOptional);
  }
  if (r && layout.cpu.found()) {
    files->cpu_stat_version_ = layout.cpu.version;
    r = open_into(files->cpu_stat_, layout.cpu.dir, "cpu.stat",
                  Need::kOptional);
  }
  if (r && !layout.unified.empty()) {
    r = open_into(files->pressure_, layout.unified, "memory.pressure",
                  Need::kOptional);
  }
  if (!r) return PassOn(std::move(r.error()));
  return ContainerReader(std::move(files));
}

Result<Sample> ContainerReader::Read(std::span<char> scratch) {
  const Files& files = *files_;
  if (files.check_unlinked_ && files.usage_.Unlinked()) {
    return MakeError(ErrorCode::kNotFound,
                     files.usage_.path() + ": cgroup removed (unlinked)");
  }
  Sample sample;
  auto memory = files.memory_version_ == Version::kV1
                    ? files.ReadMemoryV1(scratch, sample)
                    : files.ReadMemoryV2(scratch, sample);
  if (!memory) return PassOn(std::move(memory.error()));
  if (auto cpu = files.ReadCpu(scratch, sample); !cpu) {
    return PassOn(std::move(cpu.error()));
  }
  if (auto psi = files.ReadPressure(scratch, sample); !psi) {
    return PassOn(std::move(psi.error()));
  }
  return sample;
}

}  // namespace leakwatch::cgroup
