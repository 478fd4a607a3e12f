// The forward graph of the token-in kinds without a decoder input (encoder-classifier, and a
// decoder-lm exported without its KV cache): input_ids and attention_mask (and BERT's
// token_type_ids when the classifier has token types) → logits (and the attention maps when
// exported with them).

import { ShapeError, type DecoderLmConfig, type EncoderClassifierConfig } from '@attend/core';
import type { Tensor } from 'onnxruntime-common';
import { GraphSession, type ForwardOutputs, type TokenMatrix } from '../../graph-session.js';

export interface ForwardFeeds {
  inputIds: TokenMatrix;
  /** 1 for real tokens, 0 for (right) padding; default all ones. */
  attentionMask?: TokenMatrix;
  /** Each token's type (a sentence pair's segments), for a graph with token_type_ids; default all 0. */
  tokenTypeIds?: TokenMatrix;
}

/** A text classifier's or language model's forward graph. */
export class TokenForwardSession extends GraphSession<EncoderClassifierConfig | DecoderLmConfig> {
  /** The forward pass over whole sequences. */
  async run(feeds: ForwardFeeds): Promise<ForwardOutputs> {
    const ids = feeds.inputIds;
    const shape = ` but input_ids is [${ids.batchSize}, ${ids.seqLen}]`;
    const out = await this.runGraph({
      input_ids: this.tokenIds('input_ids', ids, this.config.vocabSize),
      attention_mask: this.mask('attention_mask', feeds.attentionMask, ids.batchSize, ids.seqLen, shape),
      ...this.tokenTypes(feeds.tokenTypeIds, ids, shape),
    });
    return this.forwardOutputs(out);
  }

  /** token_type_ids for a graph that has them (zeros when not given); a graph without refuses them. */
  private tokenTypes(types: TokenMatrix | undefined, ids: TokenMatrix, shape: string): Record<string, Tensor> {
    const rows = 'typeVocabSize' in this.config ? this.config.typeVocabSize : 0;
    if (!this.inputNames.includes('token_type_ids')) {
      if (types) throw new ShapeError(`${this.source}: token_type_ids were given, but the model has no token types (typeVocabSize 0): it reads one text, not a pair`);
      return {};
    }
    const m = types ?? { data: new Array<number>(ids.batchSize * ids.seqLen).fill(0), batchSize: ids.batchSize, seqLen: ids.seqLen };
    if (m.batchSize !== ids.batchSize || m.seqLen !== ids.seqLen) throw new ShapeError(`token_type_ids is [${m.batchSize}, ${m.seqLen}]${shape}`);
    return { token_type_ids: this.tokens('token_type_ids', m, (x) => Number.isInteger(x) && x >= 0 && x < rows, `a token type in [0, ${rows})`) };
  }
}
