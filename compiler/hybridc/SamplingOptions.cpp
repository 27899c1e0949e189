//===- SamplingOptions.cpp - the sampler's command-line options -----------===//
#include "SamplingOptions.h"
#include "OptionChecks.h"

using namespace hybridc;

void SamplingOptions::addTo(CLI::App *cmd) {
  cmd->add_option("--temperature", temperature, "Sampling temperature (0: greedy, the default)")
      ->check(realNumber("the temperature", 0, false));
  cmd->add_option("--top-k", topK, "Sample from the K most likely tokens (0: all)")
      ->check(wholeNumber("top-k", 0, INT32_MAX));
  cmd->add_option("--top-p", topP,
                  "Sample from the most likely tokens holding probability P (1: all)")
      ->check(realNumber("top-p", 0, false, 1));
  cmd->add_option("--min-p", minP,
                  "Drop tokens less likely than M x the most likely one (0: none)")
      ->check(realNumber("min-p", 0, false, 1));
  cmd->add_option("--repeat-penalty", repeatPenalty,
                  "Divide the logits of recent tokens by R (1: off)")
      ->check(realNumber("the repeat penalty", 0, true));
  cmd->add_option("--repeat-last-n", repeatLastN,
                  "How many recent tokens the penalty looks at (default 64)")
      ->check(wholeNumber("the tokens the penalty looks at", 0, INT32_MAX));
  cmd->add_option("--seed", seed, "The sampler's seed (default 0)");
}

SamplerSettings SamplingOptions::settings() const {
  SamplerSettings s;
  s.temperature = temperature.value_or(s.temperature);
  s.topK = topK.value_or(s.topK);
  s.topP = topP.value_or(s.topP);
  s.minP = minP.value_or(s.minP);
  s.repeatPenalty = repeatPenalty.value_or(s.repeatPenalty);
  s.repeatLastN = repeatLastN.value_or(s.repeatLastN);
  s.seed = seed.value_or(s.seed);
  return s;
}
