// The label fields a Hugging Face classifier's config.json carries.

/** The label fields of a classifier's config.json: LABEL_0 … LABEL_{n−1}. */
export function labelFields(config: { numClasses: number }): Record<string, unknown> {
  const labels = Array.from({ length: config.numClasses }, (_, i) => `LABEL_${i}`);
  return {
    num_labels: config.numClasses,
    id2label: Object.fromEntries(labels.map((l, i) => [String(i), l])),
    label2id: Object.fromEntries(labels.map((l, i) => [l, i])),
  };
}
