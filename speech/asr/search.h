// Decoding of CTC posteriors, by WeNet's names: ctc_greedy_search, ctc_prefix_beam_search, attention_rescoring.
#pragma once

#include <torch/torch.h>

#include <utility>
#include <vector>

#include "speech/asr/model.h"

namespace dial::speech {

// One hypothesis: token ids (no blanks) and its score. For prefix beam search the score is the CTC log
// probability of the prefix (log-sum over all its alignments); after rescoring it is the combined score.
struct Hypothesis {
  std::vector<int> tokens;
  double score = 0.0;
};

// ctc_greedy_search: per utterance, the argmax token of each of the first lens[b] frames, repeats collapsed,
// then blanks removed. log_probs [B, T, V], lens [B] int64.
std::vector<std::vector<int>> CtcGreedySearch(const torch::Tensor& log_probs, const torch::Tensor& lens);

// ctc_prefix_beam_search over one utterance's log_probs [T, V] (only the first T frames are read; slice to the
// valid length first). Returns at most `beam` hypotheses, best first.
std::vector<Hypothesis> CtcPrefixBeamSearch(const torch::Tensor& log_probs, int beam);

// attention_rescoring: rescores one utterance's n-best with the attention decoder, teacher-forced on each
// hypothesis. WeNet's formula: score = log P_att(hyp <eos> | enc) + ctc_weight·ctc_score (WeNet recipes decode
// with ctc_weight 0.3–0.5).
// `enc` holds that one utterance (batch 1). Returns the n-best re-sorted, best first, with combined scores.
// The model must have an attention decoder (assert).
std::vector<Hypothesis> AttentionRescoring(AsrModel& model, const EncoderOutput& enc,
                                           const std::vector<Hypothesis>& nbest, double ctc_weight);

}  // namespace dial::speech
