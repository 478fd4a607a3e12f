// Evaluation metrics over plain arrays and strings: accuracy, exact match, perplexity, BLEU.

export * from './accuracy.js';
export * from './bleu.js';
