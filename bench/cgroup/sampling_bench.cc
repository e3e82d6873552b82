// Cost of one sampling pass over N containers: discovery plus a Read of
// every container, on generated v1 and v2 trees (plain files copied from the
// fixtures) and, when run as root on a v1 host, on real cgroups.
//
// Run (see docs/performance.md):
//   build-cgroup/bench/bench_cgroup --benchmark_counters_tabular=true
//
// Benchmarks are registered from main() rather than through static
// registration macros, so the trees are built once and removed at exit.
#include <benchmark/benchmark.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cgroup/cgroup.h"

namespace leakwatch::cgroup {
namespace {

namespace fs = std::filesystem;

const fs::path kFixtures = fs::path(LEAKWATCH_FIXTURES_DIR) / "cgroup";

// The fixture containers whose files every generated container copies.
constexpr const char* kV1FixtureId =
    "1a471c93d43bcde4c3f002d8a457bf69e9a077db1b17729de0d07618fc9dd803";
constexpr const char* kV2FixtureScope =
    "system.slice/"
    "docker-2a4cc844a13ab9776f8f85ef994c37cf91f0b97acdf7cd35274d2018c975e594."
    "scope";

std::string IdFor(int i) {
  char id[65];
  std::snprintf(id, sizeof(id), "be%062x", static_cast<unsigned>(i));
  return id;
}

void CopyFiles(const fs::path& from, const fs::path& to) {
  fs::create_directories(to);
  for (const fs::directory_entry& entry : fs::directory_iterator(from)) {
    if (entry.is_regular_file()) {
      fs::copy_file(entry.path(), to / entry.path().filename());
    }
  }
}

// A v2 tree like the v2 fixture: n docker-<id>.scope cgroups under
// system.slice, plus a few cgroups that are not containers.
void MakeV2Tree(const fs::path& root, int n) {
  fs::create_directories(root);
  fs::copy_file(kFixtures / "v2" / "cgroup.controllers",
                root / "cgroup.controllers");
  for (const char* other : {"system.slice/ssh.service", "init.scope",
                            "user.slice/user-1000.slice/session-3.scope"}) {
    fs::create_directories(root / other);
  }
  for (int i = 0; i < n; ++i) {
    CopyFiles(kFixtures / "v2" / kV2FixtureScope,
              root / "system.slice" / ("docker-" + IdFor(i) + ".scope"));
  }
}

// A v1 tree like the v1 fixture: memory, cpu and cpuacct mounts with n
// docker/<id> cgroups in each.
void MakeV1Tree(const fs::path& root, int n) {
  for (const char* mount : {"memory", "cpu", "cpuacct"}) {
    CopyFiles(kFixtures / "v1" / mount, root / mount);
    fs::create_directories(root / mount / "system.slice" / "ssh.service");
    for (int i = 0; i < n; ++i) {
      CopyFiles(kFixtures / "v1" / mount / "docker" / kV1FixtureId,
                root / mount / "docker" / IdFor(i));
    }
  }
}

// One tree and its discovered containers, with readers kept open as the
// daemon keeps them between passes.
struct Tree {
  std::string name;
  Layout layout;
  std::vector<Container> containers;
  std::vector<ContainerReader> readers;
};

std::unique_ptr<Tree> LoadTree(std::string name, const fs::path& root,
                               const std::string& only_under = "") {
  auto layout = DetectLayout(root);
  if (!layout) {
    std::fprintf(stderr, "%s\n", layout.error().message.c_str());
    std::exit(1);
  }
  auto tree = std::make_unique<Tree>();
  tree->name = std::move(name);
  tree->layout = *layout;
  auto containers = Discover(tree->layout);
  if (!containers) {
    std::fprintf(stderr, "%s\n", containers.error().message.c_str());
    std::exit(1);
  }
  for (Container& c : *containers) {
    if (!c.path.starts_with(only_under)) continue;
    auto reader = ContainerReader::Open(tree->layout, c);
    if (!reader) {
      std::fprintf(stderr, "%s\n", reader.error().message.c_str());
      std::exit(1);
    }
    tree->containers.push_back(std::move(c));
    tree->readers.push_back(std::move(*reader));
  }
  return tree;
}

void SetPerContainer(benchmark::State& state, std::size_t n) {
  state.counters["containers"] = static_cast<double>(n);
  state.counters["per_container"] = benchmark::Counter(
      static_cast<double>(n), benchmark::Counter::kIsIterationInvariantRate |
                                  benchmark::Counter::kInvert);
}

// Discover + Read of every container, readers kept from earlier passes.
void SamplingPass(benchmark::State& state, Tree* tree) {
  std::vector<char> scratch(ContainerReader::kScratchSize);
  for (auto _ : state) {
    auto containers = Discover(tree->layout);
    if (!containers) state.SkipWithError(containers.error().message.c_str());
    for (ContainerReader& reader : tree->readers) {
      auto sample = reader.Read(scratch);
      if (!sample) state.SkipWithError(sample.error().message.c_str());
      benchmark::DoNotOptimize(sample);
    }
  }
  SetPerContainer(state, tree->readers.size());
}

// Discover alone.
void DiscoverOnly(benchmark::State& state, Tree* tree) {
  for (auto _ : state) {
    auto containers = Discover(tree->layout);
    if (!containers) state.SkipWithError(containers.error().message.c_str());
    benchmark::DoNotOptimize(containers);
  }
  SetPerContainer(state, tree->readers.size());
}

// Read of every container through the descriptors opened once.
void ReadKeptFds(benchmark::State& state, Tree* tree) {
  std::vector<char> scratch(ContainerReader::kScratchSize);
  for (auto _ : state) {
    for (ContainerReader& reader : tree->readers) {
      auto sample = reader.Read(scratch);
      if (!sample) state.SkipWithError(sample.error().message.c_str());
      benchmark::DoNotOptimize(sample);
    }
  }
  SetPerContainer(state, tree->readers.size());
}

// The naive baseline: open every file, read it, close it, on every sample
// (what a reader that keeps no descriptors does).
void ReadReopening(benchmark::State& state, Tree* tree) {
  std::vector<char> scratch(ContainerReader::kScratchSize);
  for (auto _ : state) {
    for (const Container& container : tree->containers) {
      auto reader = ContainerReader::Open(tree->layout, container);
      if (!reader) {
        state.SkipWithError(reader.error().message.c_str());
        break;
      }
      auto sample = reader->Read(scratch);
      if (!sample) state.SkipWithError(sample.error().message.c_str());
      benchmark::DoNotOptimize(sample);
    }
  }
  SetPerContainer(state, tree->containers.size());
}

void Register(Tree* tree) {
  using Fn = void (*)(benchmark::State&, Tree*);
  const std::pair<const char*, Fn> benches[] = {
      {"SamplingPass", SamplingPass},
      {"DiscoverOnly", DiscoverOnly},
      {"ReadKeptFds", ReadKeptFds},
      {"ReadReopening", ReadReopening},
  };
  for (const auto& [name, fn] : benches) {
    benchmark::RegisterBenchmark((std::string(name) + "/" + tree->name).c_str(),
                                 fn, tree)
        ->Unit(benchmark::kMicrosecond);
  }
}

// Real cgroups under /sys/fs/cgroup/{memory,cpu,cpuacct} (and unified on a
// hybrid host, where runc also puts them), removed again on destruction.
class RealCgroups {
 public:
  RealCgroups(const Layout& layout, const std::string& top, int n) {
    std::vector<fs::path> hierarchies = {layout.memory.dir};
    for (const Hierarchy* h : {&layout.cpu, &layout.cpuacct}) {
      if (h->found() && h->version == Version::kV1 &&
          h->dir != hierarchies.back()) {
        hierarchies.push_back(h->dir);
      }
    }
    if (!layout.unified.empty()) hierarchies.push_back(layout.unified);
    for (const fs::path& h : hierarchies) {
      Make(h.string() + top);
      Make(h.string() + top + "/docker");
      for (int i = 0; i < n; ++i) {
        Make(h.string() + top + "/docker/" + IdFor(i));
      }
    }
  }
  RealCgroups(const RealCgroups&) = delete;
  RealCgroups& operator=(const RealCgroups&) = delete;
  ~RealCgroups() {
    for (auto it = made_.rbegin(); it != made_.rend(); ++it) {
      if (::rmdir(it->c_str()) != 0) {
        std::fprintf(stderr, "rmdir %s: %s\n", it->c_str(),
                     std::strerror(errno));
      }
    }
  }

 private:
  void Make(const fs::path& dir) {
    if (::mkdir(dir.c_str(), 0755) != 0) {
      std::fprintf(stderr, "mkdir %s: %s\n", dir.c_str(), std::strerror(errno));
      return;
    }
    made_.push_back(dir);
  }

  std::vector<fs::path> made_;
};

void RaiseFdLimit() {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) == 0 &&
      limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &limit);
  }
}

int Main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  // 1000 containers keep about 7000 descriptors open.
  RaiseFdLimit();

  char pattern[] = "/tmp/leakwatch-bench-XXXXXX";
  if (::mkdtemp(pattern) == nullptr) {
    std::perror("mkdtemp");
    return 1;
  }
  const fs::path tmp = pattern;

  std::vector<std::unique_ptr<Tree>> trees;
  for (int n : {10, 100, 1000}) {
    const std::string suffix = std::to_string(n);
    MakeV2Tree(tmp / ("v2-" + suffix), n);
    trees.push_back(LoadTree("v2/" + suffix, tmp / ("v2-" + suffix)));
    MakeV1Tree(tmp / ("v1-" + suffix), n);
    trees.push_back(LoadTree("v1/" + suffix, tmp / ("v1-" + suffix)));
  }

  std::optional<RealCgroups> real;
  const fs::path sys = "/sys/fs/cgroup";
  if (::geteuid() == 0 && fs::exists(sys / "memory/memory.usage_in_bytes")) {
    auto layout = DetectLayout(sys);
    if (layout && layout->memory.version == Version::kV1) {
      const std::string top = "/leakwatch-bench-" + std::to_string(::getpid());
      real.emplace(*layout, top, 100);
      trees.push_back(LoadTree("real-v1/100", sys, top + "/"));
    }
  } else {
    std::fprintf(stderr,
                 "not root or no v1 memory hierarchy: skipping the real "
                 "cgroup benchmarks\n");
  }

  for (const auto& tree : trees) Register(tree.get());
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();

  trees.clear();  // close the descriptors before removing the cgroups
  real.reset();
  std::error_code ec;
  fs::remove_all(tmp, ec);
  return 0;
}

}  // namespace
}  // namespace leakwatch::cgroup

int main(int argc, char** argv) { return leakwatch::cgroup::Main(argc, argv); }
