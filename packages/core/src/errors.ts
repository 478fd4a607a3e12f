// Typed errors for everything that crosses attend's edges (configs, files, user input).
// Messages are one line: they name the field or file, the value, and what was expected,
// so a CLI can print `error.message` alone and a user knows what to fix.

export class AttendError extends Error {
  override readonly name: string = 'AttendError';
}

/** A ModelConfig (or other JSON config) field has a bad value. */
export class ConfigError extends AttendError {
  override readonly name = 'ConfigError';
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
  }
}

/** A data file (text, TSV, CSV) or in-memory dataset cannot be used as asked. */
export class DataError extends AttendError {
  override readonly name = 'DataError';
}

/** A tokenizer file or tokenizer call is malformed. */
export class TokenizerError extends AttendError {
  override readonly name = 'TokenizerError';
}

/** A checkpoint or weights file (safetensors, json) is missing, truncated or inconsistent. */
export class CheckpointError extends AttendError {
  override readonly name = 'CheckpointError';
}

/** Tensors or arrays of the wrong shape were passed to a function. */
export class ShapeError extends AttendError {
  override readonly name = 'ShapeError';
}

/** A step function's logits leave decoding nothing to choose from (a row with no finite logit, or NaN). */
export class DecodeError extends AttendError {
  override readonly name = 'DecodeError';
}
