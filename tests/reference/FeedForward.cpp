//===- FeedForward.cpp ----------------------------------------------------===//

#include "FeedForward.h"

#include "ReferenceMath.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <numeric>

namespace hybridc::reference {

ExpertChoice routeTopK(const std::vector<float> &routerLogits, int64_t k) {
  const int64_t E = static_cast<int64_t>(routerLogits.size());
  if (k < 1 || k > E)
    fatal("top-k of " + std::to_string(k) + " out of " + std::to_string(E) +
          " experts");
  std::vector<int64_t> order(E);
  std::iota(order.begin(), order.end(), 0);
  // A stable sort over ids in ascending order keeps the lower id first among
  // equal logits. (torch.topk does not promise an order for ties; with real
  // router logits ties do not happen, so this only makes us deterministic.)
  std::stable_sort(order.begin(), order.end(), [&](int64_t x, int64_t y) {
    return routerLogits[x] > routerLogits[y];
  });

  ExpertChoice choice;
  choice.experts.assign(order.begin(), order.begin() + k);
  const double maxLogit = routerLogits[choice.experts[0]];
  double total = 0.0;
  std::vector<double> weights(k);
  for (int64_t i = 0; i < k; ++i) {
    weights[i] = std::exp(routerLogits[choice.experts[i]] - maxLogit);
    total += weights[i];
  }
  for (int64_t i = 0; i < k; ++i)
    choice.gates.push_back(static_cast<float>(weights[i] / total));
  return choice;
}

FeedForward::FeedForward(const ModelConfig &config, const TensorLoader &loader,
                         const std::string &prefix)
    : hidden_(config.hiddenSize), numExperts_(config.numExperts),
      topK_(config.topK), expertWidth_(config.intermediateSize),
      sharedWidth_(config.sharedIntermediateSize) {
  const int64_t H = hidden_;
  if (numExperts_ > 0) {
    if (topK_ < 1 || topK_ > numExperts_)
      fatal(prefix + "block_sparse_moe: num_experts_per_tok must be in [1, " +
            std::to_string(numExperts_) + "]");
    const std::string moe = prefix + "block_sparse_moe.";
    const int64_t E = numExperts_, I = expertWidth_;
    router_ = loadTensor(loader, moe + "router.layer.weight", E * H);
    expertIn_ = loadTensor(loader, moe + "input_linear.weight", E * 2 * I * H);
    expertOut_ = loadTensor(loader, moe + "output_linear.weight", E * H * I);
  }
  const std::string mlp = prefix + "shared_mlp.";
  const int64_t S = sharedWidth_;
  sharedIn_ = loadTensor(loader, mlp + "input_linear.weight", 2 * S * H);
  sharedOut_ = loadTensor(loader, mlp + "output_linear.weight", H * S);
}

void FeedForward::swiglu(const float *inWeight, const float *outWeight,
                         int64_t width, const float *x, double scale,
                         double *out) const {
  std::vector<float> u(2 * width), hiddenAct(width);
  linear(inWeight, nullptr, x, 2 * width, hidden_, u.data());
  for (int64_t i = 0; i < width; ++i)
    hiddenAct[i] =
        static_cast<float>(static_cast<double>(silu(u[i])) * u[width + i]);
  // The down projection's input is the gated hidden row; where products
  // with weights take rounded inputs, the compiled kernels fold the gate in
  // first and round gate * h, so the reference does the same.
  if (matmulRounding() != MatmulRounding::None) {
    for (float &h : hiddenAct)
      h = static_cast<float>(scale * h);
    roundMatmulInputs(hiddenAct.data(), width);
    scale = 1.0;
  }
  for (int64_t o = 0; o < hidden_; ++o)
    out[o] += scale * dot(outWeight + o * width, hiddenAct.data(), width);
}

std::vector<float> FeedForward::forward(const std::vector<float> &f, int64_t T,
                                        std::vector<double> *routingMargin) const {
  const int64_t H = hidden_, I = expertWidth_;
  std::vector<float> out(T * H);
  std::vector<double> acc(H);
  std::vector<float> logits(numExperts_);
  for (int64_t t = 0; t < T; ++t) {
    const float *row = &f[t * H];
    std::fill(acc.begin(), acc.end(), 0.0);
    if (numExperts_ > 0) {
      // Router logits are fp32 (HF `.float()`), rounded before the top-k;
      // the compiled router multiplies unrounded inputs in any mode.
      {
        MatmulInputRounding exact(MatmulRounding::None);
        linear(router_.data(), nullptr, row, numExperts_, H, logits.data());
      }
      ExpertChoice choice = routeTopK(logits, topK_);
      if (routingMargin && topK_ < numExperts_) {
        std::vector<float> sorted = logits;
        std::nth_element(sorted.begin(), sorted.begin() + topK_, sorted.end(),
                         std::greater<float>());
        const float kth = *std::min_element(sorted.begin(), sorted.begin() + topK_);
        double &m = (*routingMargin)[t];
        m = std::min(m, double(kth) - double(sorted[topK_]));
      }
      for (int64_t i = 0; i < topK_; ++i) {
        const int64_t e = choice.experts[i];
        swiglu(&expertIn_[e * 2 * I * H], &expertOut_[e * H * I], I, row,
               choice.gates[i], acc.data());
      }
    }
    swiglu(sharedIn_.data(), sharedOut_.data(), sharedWidth_, row, 1.0,
           acc.data());
    for (int64_t o = 0; o < H; ++o)
      out[t * H + o] = static_cast<float>(acc[o]);
  }
  return out;
}

} // namespace hybridc::reference
