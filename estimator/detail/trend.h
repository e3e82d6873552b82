// The statistics of a trend through points (time, bytes): the Theil–Sen
// slope with its lower confidence bound, the scatter around it, and r².
// Private to the estimator; declared here so the evaluation in
// evaluate.cc and tests can use them.
//
// Points come as two spans of equal length, times in seconds. Functions
// that take a scratch vector use it as work space (its contents on return
// are unspecified), so that once grown no call allocates.
#pragma once

#include <span>
#include <vector>

namespace leakwatch::estimator::detail {

// The median (the upper one of an even count) of v, reordering v; 0 when
// v is empty.
double MedianInPlace(std::vector<double>& v);

// The Theil–Sen slope of the points: the median of all pairwise slopes.
double MedianSlope(std::span<const double> times_s,
                   std::span<const double> bytes, std::vector<double>& scratch);

struct TheilSen {
  double slope = 0;  // bytes per second
  double lower = 0;  // its one-sided 95 % lower confidence bound
};

// The Theil–Sen slope of at least two points and its lower bound.
TheilSen FitTheilSen(std::span<const double> times_s,
                     std::span<const double> bytes,
                     std::vector<double>& scratch);

// The value at at_s of the line of the given slope through the median of
// the points.
double LineValueAt(std::span<const double> times_s,
                   std::span<const double> bytes, double slope, double at_s,
                   std::vector<double>& scratch);

// 1.4826 x the median absolute deviation of the points from the line of
// the given slope through their median: their standard deviation around
// it, robust to outliers.
double Scatter(std::span<const double> times_s, std::span<const double> bytes,
               double slope, std::vector<double>& scratch);

// r² of the least-squares line through the points; 0 when either
// coordinate does not vary.
double RSquared(std::span<const double> times_s, std::span<const double> bytes);

}  // namespace leakwatch::estimator::detail
