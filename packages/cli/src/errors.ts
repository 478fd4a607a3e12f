// Errors the CLI reports to people: one line `attend: <message>`, a non-zero exit code, and the
// stack only under --verbose. Library errors (AttendError and friends) already name the file
// and field at fault, so their message is printed as it is.

/** A problem with the command line or its inputs, found by the CLI itself. */
export class CliError extends Error {
  override readonly name = 'CliError';
  constructor(
    message: string,
    /** Process exit code; 1 by default, 2 for usage errors (as commander uses). */
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

/** What `attend attention` says of a kind that has no attention or picture to draw (the plain canvas classifier reads the whole image). */
export class NothingToDrawError extends CliError {}

/** A problem with one input (numbered from 1 among the inputs of one call); `shifted` renumbers it for a later batch. */
export class InputError extends CliError {
  constructor(
    readonly input: number,
    /** The message after "input N", e.g. " is empty" or ": value 3 is not a number". */
    readonly problem: string,
  ) {
    super(`input ${input}${problem}`);
  }

  /** The same problem, `offset` inputs further on. */
  shifted(offset: number): InputError {
    return new InputError(this.input + offset, this.problem);
  }
}

/** The one line printed for an error: its message without a trailing newline or stack. */
export function errorLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return `attend: ${message.split('\n')[0]!.trim()}`;
}

/** "a decoder-lm", "an encoder-classifier", "an rnn-seq2seq" (said "ar-en-en"): a preset with its article, for messages. */
export function aPreset(preset: string): string {
  return `${/^(?:[aeiou]|rnn)/.test(preset) ? 'an' : 'a'} ${preset}`;
}
