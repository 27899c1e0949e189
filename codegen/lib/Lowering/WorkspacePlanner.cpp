//===- WorkspacePlanner.cpp - reuse of intermediate buffers ---------------===//
#include "WorkspacePlanner.h"

#include <algorithm>
#include <numeric>

using namespace hybridc;

static int64_t alignTo16(int64_t v) { return (v + 15) / 16 * 16; }

int WorkspacePlanner::add(int64_t width, int64_t start, int64_t end) {
  buffers.push_back({alignTo16(width), start, std::max(start, end)});
  return static_cast<int>(buffers.size()) - 1;
}

void WorkspacePlanner::plan() {
  std::vector<int> order(buffers.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](int a, int b) { return buffers[a].start < buffers[b].start; });
  std::vector<int> placed;
  for (int id : order) {
    Buffer &buf = buffers[id];
    // Column ranges taken by already placed buffers live at the same time.
    std::vector<std::pair<int64_t, int64_t>> taken;
    for (int other : placed) {
      const Buffer &o = buffers[other];
      if (o.start <= buf.end && buf.start <= o.end)
        taken.push_back({o.offset, o.offset + o.width});
    }
    std::sort(taken.begin(), taken.end());
    int64_t candidate = 0;
    for (auto [lo, hi] : taken) {
      if (candidate + buf.width <= lo)
        break;
      candidate = std::max(candidate, hi);
    }
    buf.offset = candidate;
    peak = std::max(peak, candidate + buf.width);
    placed.push_back(id);
  }
}
