#include "estimator/detail/trend.h"

#include <algorithm>
#include <cmath>
#include <cstddef>

namespace leakwatch::estimator::detail {
namespace {

// One-sided 95 % normal quantile, for the Theil–Sen confidence bound.
constexpr double kZ95 = 1.6449;

// The slope of every pair of points (i < j), in that order.
void PairwiseSlopes(std::span<const double> times_s,
                    std::span<const double> bytes,
                    std::vector<double>& slopes) {
  const std::size_t n = bytes.size();
  slopes.clear();
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t j = i + 1; j < n; ++j) {
      slopes.push_back((bytes[j] - bytes[i]) / (times_s[j] - times_s[i]));
    }
  }
}

}  // namespace

double MedianInPlace(std::vector<double>& v) {
  if (v.empty()) return 0;
  auto mid = v.begin() + static_cast<std::ptrdiff_t>(v.size() / 2);
  std::nth_element(v.begin(), mid, v.end());
  return *mid;
}

double MedianSlope(std::span<const double> times_s,
                   std::span<const double> bytes,
                   std::vector<double>& scratch) {
  PairwiseSlopes(times_s, bytes, scratch);
  return MedianInPlace(scratch);
}

// Theil–Sen: the median of all pairwise slopes, robust to the outliers a
// bucket without a GC trough makes. Its lower confidence bound comes from
// the rank distribution of Kendall's S (Sen 1968).
TheilSen FitTheilSen(std::span<const double> times_s,
                     std::span<const double> bytes,
                     std::vector<double>& scratch) {
  std::vector<double>& slopes = scratch;
  PairwiseSlopes(times_s, bytes, slopes);
  const std::size_t pairs = slopes.size();
  const double nd = static_cast<double>(bytes.size());
  auto mid = slopes.begin() + static_cast<std::ptrdiff_t>(pairs / 2);
  std::nth_element(slopes.begin(), mid, slopes.end());
  TheilSen fit;
  fit.slope = *mid;
  const double c = kZ95 * std::sqrt(nd * (nd - 1) * (2 * nd + 5) / 18.0);
  const double lower_rank = std::floor((static_cast<double>(pairs) - c) / 2.0);
  // The slopes below the median are those before mid: the bound is found
  // among them only.
  if (lower_rank >= 0) {
    auto at = slopes.begin() + static_cast<std::ptrdiff_t>(lower_rank);
    std::nth_element(slopes.begin(), at, mid);
    fit.lower = *at;
  } else {
    fit.lower = *std::min_element(slopes.begin(), mid);
  }
  return fit;
}

double LineValueAt(std::span<const double> times_s,
                   std::span<const double> bytes, double slope, double at_s,
                   std::vector<double>& scratch) {
  scratch.clear();
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    scratch.push_back(bytes[i] - slope * (times_s[i] - at_s));
  }
  return MedianInPlace(scratch);
}

double Scatter(std::span<const double> times_s, std::span<const double> bytes,
               double slope, std::vector<double>& scratch) {
  const std::size_t n = bytes.size();
  scratch.clear();
  for (std::size_t i = 0; i < n; ++i) {
    scratch.push_back(bytes[i] - slope * times_s[i]);
  }
  const double intercept = MedianInPlace(scratch);
  for (std::size_t i = 0; i < n; ++i) {
    scratch[i] = std::abs(bytes[i] - intercept - slope * times_s[i]);
  }
  return 1.4826 * MedianInPlace(scratch);
}

double RSquared(std::span<const double> times_s,
                std::span<const double> bytes) {
  const std::size_t n = bytes.size();
  const double nd = static_cast<double>(n);
  double st = 0, sm = 0;
  for (std::size_t i = 0; i < n; ++i) {
    st += times_s[i];
    sm += bytes[i];
  }
  const double mt = st / nd, mm = sm / nd;
  double stt = 0, smm = 0, stm = 0;
  for (std::size_t i = 0; i < n; ++i) {
    stt += (times_s[i] - mt) * (times_s[i] - mt);
    smm += (bytes[i] - mm) * (bytes[i] - mm);
    stm += (times_s[i] - mt) * (bytes[i] - mm);
  }
  return (stt > 0 && smm > 0) ? std::clamp(stm * stm / (stt * smm), 0.0, 1.0)
                              : 0;
}

}  // namespace leakwatch::estimator::detail
