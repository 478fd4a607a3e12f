// The errors `attend serve` answers with: an HTTP status, a stable machine-readable code, and
// one line for people. Every error body is `{ "error": { "code", "message" } }`.

export class HttpError extends Error {
  override readonly name = 'HttpError';
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export function errorBody(code: string, message: string): { error: { code: string; message: string } } {
  return { error: { code, message } };
}
