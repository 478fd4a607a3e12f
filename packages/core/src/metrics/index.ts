// Evaluation metrics over plain arrays and strings: accuracy, confusion matrix, exact match,
// perplexity, bits per character, BLEU, chrF.

export * from './accuracy.js';
export * from './bleu.js';
export * from './chrf.js';
