// The forward graph of the token-in kinds without a decoder input (encoder-classifier, and a
// decoder-lm exported without its KV cache): input_ids and attention_mask → logits (and the
// attention maps when exported with them).

import type { DecoderLmConfig, EncoderClassifierConfig } from '@attend/core';
import { GraphSession, type ForwardOutputs, type TokenMatrix } from '../../graph-session.js';

export interface ForwardFeeds {
  inputIds: TokenMatrix;
  /** 1 for real tokens, 0 for (right) padding; default all ones. */
  attentionMask?: TokenMatrix;
}

/** A text classifier's or language model's forward graph. */
export class TokenForwardSession extends GraphSession<EncoderClassifierConfig | DecoderLmConfig> {
  /** The forward pass over whole sequences. */
  async run(feeds: ForwardFeeds): Promise<ForwardOutputs> {
    const ids = feeds.inputIds;
    const out = await this.runGraph({
      input_ids: this.tokenIds('input_ids', ids, this.config.vocabSize),
      attention_mask: this.mask('attention_mask', feeds.attentionMask, ids.batchSize, ids.seqLen, ` but input_ids is [${ids.batchSize}, ${ids.seqLen}]`),
    });
    return this.forwardOutputs(out);
  }
}
