//===- MambaMixer.cpp -----------------------------------------------------===//

#include "MambaMixer.h"

#include "ReferenceMath.h"

#include <algorithm>
#include <cmath>

namespace hybridc::reference {

MambaMixer::MambaMixer(const ModelConfig &config, const TensorLoader &loader,
                       const std::string &prefix)
    : hidden_(config.hiddenSize), inner_(config.mambaInner()),
      convDim_(config.convDim()), heads_(config.mambaHeads),
      headDim_(config.mambaHeadDim), stateSize_(config.mambaStateSize),
      groups_(config.mambaGroups), kernel_(config.mambaConvKernel),
      chunkSize_(config.mambaChunkSize),
      // eps is added to an fp32 value in HF and llama.cpp alike, so it is
      // rounded to float first.
      eps_(static_cast<float>(config.rmsNormEps)),
      dtMin_(config.timeStepMin), dtMax_(config.timeStepMax) {
  if (heads_ * headDim_ != inner_)
    fatal(prefix + "mamba: heads x head_dim (" +
          std::to_string(heads_ * headDim_) + ") != d_inner (" +
          std::to_string(inner_) + ")");
  if (groups_ <= 0 || heads_ % groups_ != 0)
    fatal(prefix + "mamba: n_groups must divide n_heads");
  if (kernel_ < 1)
    fatal(prefix + "mamba: conv kernel must be >= 1");
  if (config.hiddenAct != "silu")
    fatal("only hidden_act \"silu\" is implemented, got \"" +
          config.hiddenAct + "\"");

  const std::string m = prefix + "mamba.";
  const int64_t rows = config.inProjRows();
  inProj_ = loadTensor(loader, m + "in_proj.weight", rows * hidden_);
  if (config.mambaProjBias) {
    inProjBias_ = loadTensor(loader, m + "in_proj.bias", rows);
    outProjBias_ = loadTensor(loader, m + "out_proj.bias", hidden_);
  }
  // [conv_dim, 1, K] is the same memory as [conv_dim][K].
  convWeight_ = loadTensor(loader, m + "conv1d.weight", convDim_ * kernel_);
  if (config.mambaConvBias)
    convBias_ = loadTensor(loader, m + "conv1d.bias", convDim_);
  dtBias_ = loadTensor(loader, m + "dt_bias", heads_);
  A_ = loadTensor(loader, m + "A_log", heads_);
  for (float &v : A_)
    v = static_cast<float>(-std::exp(static_cast<double>(v)));
  D_ = loadTensor(loader, m + "D", heads_);
  normWeight_ = loadTensor(loader, m + "norm.weight", inner_);
  outProj_ = loadTensor(loader, m + "out_proj.weight", hidden_ * inner_);
  reset();
}

void MambaMixer::reset() {
  convState_.assign((kernel_ - 1) * convDim_, 0.0f);
  ssmState_.assign(heads_ * headDim_ * stateSize_, 0.0f);
}

std::vector<float> MambaMixer::convolve(const std::vector<float> &raw,
                                        int64_t T) {
  // window = concat(conv state, raw): [K-1+T][conv_dim]. Output t reads
  // window rows t..t+K-1; tap K-1 multiplies the current token.
  const int64_t history = kernel_ - 1;
  std::vector<float> window(convState_);
  window.insert(window.end(), raw.begin(), raw.end());

  std::vector<float> out(T * convDim_);
  for (int64_t t = 0; t < T; ++t) {
    for (int64_t c = 0; c < convDim_; ++c) {
      double sum = convBias_.empty() ? 0.0 : convBias_[c];
      for (int64_t k = 0; k < kernel_; ++k)
        sum += static_cast<double>(convWeight_[c * kernel_ + k]) *
               window[(t + k) * convDim_ + c];
      out[t * convDim_ + c] = silu(static_cast<float>(sum));
    }
  }
  // The new state is the last K-1 rows of the window, which also covers
  // T < K-1 (part of the old state stays).
  std::copy(window.end() - history * convDim_, window.end(),
            convState_.begin());
  return out;
}

std::vector<float> MambaMixer::forward(const std::vector<float> &a,
                                       int64_t T) {
  const int64_t rows = inner_ + convDim_ + heads_;
  const int64_t GN = groups_ * stateSize_;

  // Step 1: in_proj, split into z | xBC_raw | dt_raw.
  std::vector<float> z(T * inner_), xbcRaw(T * convDim_), dtRaw(T * heads_);
  std::vector<float> projected(rows);
  for (int64_t t = 0; t < T; ++t) {
    linear(inProj_.data(), inProjBias_.empty() ? nullptr : inProjBias_.data(),
           &a[t * hidden_], rows, hidden_, projected.data());
    std::copy_n(projected.begin(), inner_, &z[t * inner_]);
    std::copy_n(projected.begin() + inner_, convDim_, &xbcRaw[t * convDim_]);
    std::copy_n(projected.begin() + inner_ + convDim_, heads_,
                &dtRaw[t * heads_]);
  }

  // Step 2: conv + SiLU. Step 3: split into x [nh][P], B [G][N], C [G][N].
  std::vector<float> xbc = convolve(xbcRaw, T);
  std::vector<float> x(T * inner_), B(T * GN), C(T * GN);
  for (int64_t t = 0; t < T; ++t) {
    const float *row = &xbc[t * convDim_];
    std::copy_n(row, inner_, &x[t * inner_]);
    std::copy_n(row + inner_, GN, &B[t * GN]);
    std::copy_n(row + inner_ + GN, GN, &C[t * GN]);
  }

  // Step 4: dt = clamp(softplus(dt_raw + dt_bias), time_step_limit).
  std::vector<float> dt(T * heads_);
  for (int64_t t = 0; t < T; ++t)
    for (int64_t h = 0; h < heads_; ++h) {
      double v = softplus(dtRaw[t * heads_ + h] + dtBias_[h]);
      dt[t * heads_ + h] = static_cast<float>(std::clamp(v, dtMin_, dtMax_));
    }

  // Steps 5-7. A single token (decode) uses the recurrence directly; longer
  // calls (prefill) use the chunked SSD form, as a real implementation does.
  SsmShape shape{T, heads_, headDim_, stateSize_, groups_};
  std::vector<float> y =
      T == 1 ? sequentialScan(shape, x, dt, A_, B, C, D_, ssmState_)
             : chunkedScan(shape, x, dt, A_, B, C, D_, ssmState_, chunkSize_);

  // Step 8: gated RMSNorm, q = y ⊙ SiLU(z), normalised per group of
  // d_inner/G channels (the mamba_ssm / llama.cpp convention; HF normalises
  // over all of d_inner, which is the same for G = 1).
  const int64_t groupWidth = inner_ / groups_;
  std::vector<float> gated(T * inner_);
  for (int64_t i = 0; i < T * inner_; ++i)
    gated[i] = static_cast<float>(static_cast<double>(y[i]) * silu(z[i]));
  for (int64_t t = 0; t < T; ++t)
    for (int64_t g = 0; g < groups_; ++g) {
      float *block = &gated[t * inner_ + g * groupWidth];
      rmsNorm(block, &normWeight_[g * groupWidth], groupWidth, eps_, block);
    }

  // Step 9: out_proj.
  std::vector<float> out(T * hidden_);
  for (int64_t t = 0; t < T; ++t)
    linear(outProj_.data(),
           outProjBias_.empty() ? nullptr : outProjBias_.data(),
           &gated[t * inner_], hidden_, inner_, &out[t * hidden_]);
  return out;
}

} // namespace hybridc::reference
