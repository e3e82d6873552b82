#include "analyze/analyze.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

namespace leakwatch::analyze {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

struct Outcome {
  int code;
  std::string out;
  std::string err;
  std::vector<nlohmann::json> rows() const {
    std::vector<nlohmann::json> r;
    std::istringstream in(out);
    std::string line;
    while (std::getline(in, line)) r.push_back(nlohmann::json::parse(line));
    return r;
  }
};

Outcome Analyze(std::vector<std::string> args,
                const std::string& stdin_text = "") {
  std::istringstream in(stdin_text);
  std::ostringstream out, err;
  int code = Run(args, in, out, err, /*stdout_is_tty=*/false);
  return {code, out.str(), err.str()};
}

class AnalyzeTest : public ::testing::Test {
 protected:
  AnalyzeTest() {
    dir_ = fs::temp_directory_path() /
           ("leakwatch-analyze-" + std::to_string(::getpid()));
    fs::create_directories(dir_);
  }
  ~AnalyzeTest() override { fs::remove_all(dir_); }

  std::string Write(const std::string& name, const std::string& text) {
    fs::path p = dir_ / name;
    std::ofstream(p) << text;
    return p.string();
  }

  // A leak of 100 MiB/h on a 512 MiB limit, sampled every 5 s for `hours`.
  static std::string LeakCsv(
      double hours, const std::string& header = "time,working_set,rss,limit") {
    std::ostringstream csv;
    csv << header << "\n";
    for (int i = 0; i < hours * 720; ++i) {
      const double rss = 100.0 * 1048576 + i * 5 * (100.0 * 1048576 / 3600);
      csv << 1'700'000'000 + i * 5 << "," << static_cast<long>(rss * 1.2) << ","
          << static_cast<long>(rss) << "," << 512 * 1048576 << "\n";
    }
    return csv.str();
  }

  fs::path dir_;
};

TEST_F(AnalyzeTest, ReportsEverySeriesAndWindowAsJsonLines) {
  const std::string file = Write("leak.csv", LeakCsv(2));
  Outcome o = Analyze({file});
  ASSERT_EQ(o.code, 0) << o.err;
  auto rows = o.rows();
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0]["series"], file);
  EXPECT_EQ(rows[0]["window"], "15m");
  EXPECT_EQ(rows[1]["window"], "1h");
  EXPECT_EQ(rows[2]["window"], "6h");
  // (last - 1h, last] at a 5 s interval holds 720 samples.
  EXPECT_EQ(rows[1]["samples"], 720);
  EXPECT_EQ(rows[2]["samples"], 1440);
  EXPECT_EQ(rows[1]["suspected"], true);
  EXPECT_TRUE(rows[1]["first_suspected_at"].is_number());
  EXPECT_NEAR(rows[1]["slope_bytes_per_second"].get<double>(),
              100.0 * 1048576 / 3600, 100.0 * 1048576 / 3600 * 0.05);
  EXPECT_TRUE(rows[1]["time_to_limit_seconds"].is_number());
  for (const char* key :
       {"series", "window", "samples", "slope_bytes_per_second", "r_squared",
        "score", "suspected", "first_suspected_at", "time_to_limit_seconds",
        "ready"}) {
    EXPECT_TRUE(rows[0].contains(key)) << key;
  }
  EXPECT_EQ(rows[1]["ready"], true);
}

TEST_F(AnalyzeTest, SaysWhichWindowsCannotJudge) {
  // Flat memory under a collector that runs every 10 minutes: the 1h
  // window sees a collection in every quarter and judges; the 15m window
  // has its history but quarters of under 4 minutes without a collection,
  // so its minima are no troughs; the 6h window lacks history (80
  // minutes of it, where it judges from 90).
  std::ostringstream csv;
  csv << "time,rss,limit\n";
  for (int i = 0; i < 80 * 12; ++i) {
    const double mib = 1048576;
    const double rss = 100 * mib + (i % 120) * (50 * mib / 120);
    csv << 1'700'000'000 + i * 5 << "," << static_cast<long>(rss) << ","
        << 512 * 1048576 << "\n";
  }
  Outcome o = Analyze({Write("sawtooth.csv", csv.str())});
  ASSERT_EQ(o.code, 0) << o.err;
  auto rows = o.rows();
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0]["ready"], false);  // 15m: blind
  EXPECT_EQ(rows[1]["ready"], true);   // 1h
  EXPECT_EQ(rows[2]["ready"], false);  // 6h: too young
  for (const auto& r : rows) EXPECT_EQ(r["suspected"], false);
  // The table says why instead of "no".
  std::istringstream in;
  std::ostringstream out, err;
  ASSERT_EQ(analyze::Run({"--format", "table", Write("s.csv", csv.str())}, in,
                         out, err, false),
            0);
  EXPECT_THAT(out.str(), HasSubstr("blind"));
  EXPECT_THAT(out.str(), HasSubstr("judging"));
}

TEST_F(AnalyzeTest, NamesTheKindThatLeaksFromPerKindColumns) {
  // Files left in a tmpfs: shmem grows 100 MiB/h inside cache, anonymous
  // memory stays flat, a hot page cache grows beside it.
  std::ostringstream csv;
  csv << "time,usage,anon,cache,shmem,kernel,active_file,inactive_file,"
         "mapped_file,limit\n";
  for (int i = 0; i < 2 * 720; ++i) {
    const double mib = 1048576;
    const double shmem = 10 * mib + i * 5 * (100 * mib / 3600);
    const double active = 20 * mib + i * 5 * (50 * mib / 3600);
    const double anon = 80 * mib + (i % 12) * mib;  // a GC sawtooth
    const double kernel = 6 * mib;
    const double cache = shmem + active + 4 * mib;
    csv << 1'700'000'000 + i * 5 << ","
        << static_cast<long>(anon + cache + kernel) << ","
        << static_cast<long>(anon) << "," << static_cast<long>(cache) << ","
        << static_cast<long>(shmem) << "," << static_cast<long>(kernel) << ","
        << static_cast<long>(active) << "," << 4 * 1048576 << "," << 1048576
        << "," << 512 * 1048576 << "\n";
  }
  Outcome o = Analyze({"--windows", "15m,1h", Write("kinds.csv", csv.str())});
  ASSERT_EQ(o.code, 0) << o.err;
  auto rows = o.rows();
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[1]["suspected"], true);
  EXPECT_EQ(rows[1]["kind"], "shmem");
  // The same trace with anonymous memory alone hides the leak, and a CSV
  // without kind columns has no "kind" key.
  std::string rss_only;
  std::istringstream in(csv.str());
  for (std::string line; std::getline(in, line);) {
    std::vector<std::string> cells;
    std::stringstream cs(line);
    for (std::string cell; std::getline(cs, cell, ',');) cells.push_back(cell);
    rss_only += cells[0] + "," + cells[1] + "," + cells[2] + "," + cells[3] +
                "," + cells[9] + "\n";
  }
  Outcome old = Analyze({"--windows", "15m,1h", Write("rss.csv", rss_only)});
  ASSERT_EQ(old.code, 0) << old.err;
  for (const auto& row : old.rows()) {
    EXPECT_EQ(row["suspected"], false);
    EXPECT_FALSE(row.contains("kind"));
  }
}

TEST_F(AnalyzeTest, AnonAndRssAreOneColumn) {
  Outcome o = Analyze({Write("both.csv", "time,rss,anon\n1,2,3\n")});
  EXPECT_EQ(o.code, 2);
  EXPECT_THAT(o.err, HasSubstr("both.csv:1: column \"anon\" appears twice"));
}

TEST_F(AnalyzeTest, ReadsStandardInputAndNamesItDash) {
  Outcome o = Analyze({"--windows", "1h", "-"}, LeakCsv(1.5));
  ASSERT_EQ(o.code, 0) << o.err;
  ASSERT_EQ(o.rows().size(), 1u);
  EXPECT_EQ(o.rows()[0]["series"], "-");
}

TEST_F(AnalyzeTest, LimitFlagOverridesTheLimitColumn) {
  const std::string file = Write("leak.csv", LeakCsv(2));
  Outcome without = Analyze({"--windows", "1h", file});
  Outcome with = Analyze({"--windows", "1h", "--limit", "10737418240", file});
  ASSERT_EQ(with.code, 0) << with.err;
  EXPECT_GT(with.rows()[0]["time_to_limit_seconds"].get<double>(),
            without.rows()[0]["time_to_limit_seconds"].get<double>());
}

TEST_F(AnalyzeTest, NoLimitMeansNoTimeToLimit) {
  std::string csv = "t,bytes\n";
  for (int i = 0; i < 1440; ++i) {
    csv += std::to_string(1'700'000'000 + i * 5) + "," +
           std::to_string(100 * 1048576 + i * 150000) + "\n";
  }
  Outcome o = Analyze({"--windows", "1h", Write("ws.csv", csv)});
  ASSERT_EQ(o.code, 0) << o.err;
  EXPECT_TRUE(o.rows()[0]["time_to_limit_seconds"].is_null());
}

TEST_F(AnalyzeTest, AnEmptyValueCellIsUnknownButAnEmptyTimeIsMalformed) {
  std::string csv = "time,working_set,limit\n";
  for (int i = 0; i < 1440; ++i) {
    csv += std::to_string(1'700'000'000 + i * 5) + "," +
           (i == 7 ? "" : std::to_string(100 * 1048576 + i * 150000)) + ",\n";
  }
  Outcome o = Analyze({"--windows", "1h", Write("gaps.csv", csv)});
  ASSERT_EQ(o.code, 0) << o.err;
  EXPECT_TRUE(o.rows()[0]["time_to_limit_seconds"].is_null());  // no limit
  EXPECT_EQ(o.rows()[0]["samples"], 720);

  const std::string bad = Write("notime.csv", "time,rss\n1700000000,5\n,6\n");
  Outcome e = Analyze({bad});
  EXPECT_EQ(e.code, 2);
  EXPECT_THAT(e.err, HasSubstr(bad + ":3:"));
}

TEST_F(AnalyzeTest, ReadsPrometheusQueryRangeReplies) {
  nlohmann::json values = nlohmann::json::array();
  for (int i = 0; i < 1440; ++i) {
    values.push_back(
        {1'700'000'000 + i * 5, std::to_string(100 * 1048576 + i * 150000)});
  }
  nlohmann::json reply = {
      {"status", "success"},
      {"data",
       {{"resultType", "matrix"},
        {"result",
         {{{"metric",
            {{"__name__", "leakwatch_container_memory_working_set_bytes"},
             {"name", "web"},
             {"id", "abc"}}},
           {"values", values}}}}}}};
  Outcome o = Analyze({"--windows", "1h", Write("q.json", reply.dump())});
  ASSERT_EQ(o.code, 0) << o.err;
  ASSERT_EQ(o.rows().size(), 1u);
  EXPECT_EQ(
      o.rows()[0]["series"],
      "leakwatch_container_memory_working_set_bytes{id=\"abc\",name=\"web\"}");
  EXPECT_EQ(o.rows()[0]["samples"], 720);
}

TEST_F(AnalyzeTest, MalformedCsvExitsTwoNamingFileAndLine) {
  const std::string file =
      Write("bad.csv", "time,working_set\n1700000000,100\n1700000005,12x\n");
  Outcome o = Analyze({file});
  EXPECT_EQ(o.code, 2);
  EXPECT_THAT(o.err, HasSubstr(file + ":3:"));
  EXPECT_THAT(o.err, HasSubstr("12x"));
}

TEST_F(AnalyzeTest, TwoUnknownValueColumnsAreMalformed) {
  const std::string file = Write("two.csv", "time,a,b\n1,2,3\n");
  Outcome o = Analyze({file});
  EXPECT_EQ(o.code, 2);
  EXPECT_THAT(o.err, HasSubstr(file + ":1:"));
}

TEST_F(AnalyzeTest, RaggedRowsAreMalformed) {
  const std::string file = Write("ragged.csv", "time,rss\n1,2\n2\n");
  Outcome o = Analyze({file});
  EXPECT_EQ(o.code, 2);
  EXPECT_THAT(o.err, HasSubstr(file + ":3:"));
}

TEST_F(AnalyzeTest, MalformedJsonExitsTwoNamingFileAndLine) {
  const std::string file =
      Write("bad.json", "{\"status\": \"success\",\n \"data\": [1,\n");
  Outcome o = Analyze({file});
  EXPECT_EQ(o.code, 2);
  EXPECT_THAT(o.err, HasSubstr(file + ":"));
  const std::string wrong_type = Write(
      "vector.json",
      R"({"status":"success","data":{"resultType":"vector","result":[]}})");
  Outcome v = Analyze({wrong_type});
  EXPECT_EQ(v.code, 2);
  EXPECT_THAT(v.err, HasSubstr("matrix"));
}

TEST_F(AnalyzeTest, UnreadableFilesAndBadFlagsExitTwo) {
  EXPECT_EQ(Analyze({(dir_ / "missing.csv").string()}).code, 2);
  const std::string file = Write("leak.csv", LeakCsv(1));
  EXPECT_EQ(Analyze({"--windows", "5x", file}).code, 2);
  EXPECT_EQ(Analyze({"--limit", "-3", file}).code, 2);
  EXPECT_EQ(Analyze({"--format", "xml", file}).code, 2);
  EXPECT_EQ(Analyze({"--no-such-flag", file}).code, 2);
  EXPECT_EQ(Analyze({}).code, 2);
}

TEST_F(AnalyzeTest, TakesTheDaemonsThresholdsWithTheSameDefaults) {
  const std::string file = Write("leak.csv", LeakCsv(2));
  Outcome defaults = Analyze({"--windows", "1h", file});
  Outcome spelled =
      Analyze({"--windows", "1h", "--healthy-growth", "0.015", "--min-growth",
               "0.0175", "--persistence", "3", file});
  ASSERT_EQ(spelled.code, 0) << spelled.err;
  EXPECT_EQ(spelled.out, defaults.out);
  // 100 MiB/h under 512 MiB is 19.5 % of the limit per hour.
  Outcome lenient = Analyze({"--windows", "1h", "--healthy-growth", "0.25",
                             "--min-growth", "0.3", file});
  ASSERT_EQ(lenient.code, 0) << lenient.err;
  EXPECT_EQ(lenient.rows()[0]["suspected"], false);
  EXPECT_EQ(Analyze({"--healthy-growth", "0", file}).code, 2);
  EXPECT_EQ(Analyze({"--min-growth", "0.01", file}).code, 2);
  EXPECT_EQ(Analyze({"--persistence", "0", file}).code, 2);
  EXPECT_EQ(Analyze({"--persistence", "x", file}).code, 2);
}

TEST_F(AnalyzeTest, ExplainPrintsEveryEvaluationAndWhenItCannotJudge) {
  // A sawtooth leak (a collection every minute) whose collector skips six
  // minutes: the 15m window's quarters then hold no trough, and --explain
  // must say so rather than show a bare score of 0 beside evidence of 1.
  std::ostringstream csv;
  csv << "time,rss,limit\n";
  const double quiet_from = 7200, quiet_to = quiet_from + 360;
  for (double t = 0; t < quiet_to + 300; t += 5) {
    const bool quiet = t >= quiet_from && t < quiet_to;
    const double rss = 100.0 * 1048576 + t * (100.0 * 1048576 / 3600) +
                       (quiet ? 0 : 20.0 * 1048576 * std::fmod(t / 60, 1.0));
    csv << 1'700'000'000 + static_cast<long>(t) << "," << static_cast<long>(rss)
        << "," << 512 * 1048576 << "\n";
  }
  const std::string file = Write("sawtooth.csv", csv.str());
  Outcome o = Analyze({"--explain", "--windows", "15m", file});
  ASSERT_EQ(o.code, 0) << o.err;
  ASSERT_EQ(o.rows().size(), 1u);
  EXPECT_EQ(o.rows()[0]["suspected"], true);
  std::istringstream lines(o.err);
  std::string line;
  int evaluations = 0, blind = 0;
  while (std::getline(lines, line)) {
    const auto j = nlohmann::json::parse(line);
    ++evaluations;
    for (const char* key :
         {"series", "window", "t", "ready", "troughs_seen",
          "slope_mib_per_hour", "lower_mib_per_hour", "rate", "keeps_going",
          "not_slowing", "score", "suspected"}) {
      ASSERT_TRUE(j.contains(key)) << key << " in " << line;
    }
    if (j["ready"] == true && j["troughs_seen"] == false) {
      ++blind;
      EXPECT_EQ(j["score"], 0.0) << line;
      EXPECT_EQ(j["suspected"], true) << "the verdict is kept: " << line;
    }
  }
  // One evaluation per bucket: 32 per 15 minutes over 2 h 11 min.
  EXPECT_GE(evaluations, 270);
  EXPECT_GE(blind, 3) << "the quiet stretch never left a quarter blind";
}

TEST_F(AnalyzeTest, TableFormatIsForPeople) {
  const std::string file = Write("leak.csv", LeakCsv(2));
  Outcome o = Analyze({"--format", "table", "--windows", "1h", file});
  ASSERT_EQ(o.code, 0);
  EXPECT_THAT(o.out, HasSubstr("WINDOW"));
  EXPECT_THAT(o.out, HasSubstr("yes"));
}

}  // namespace
}  // namespace leakwatch::analyze
