/**
 * One error hierarchy for the whole library. The library throws; only the CLI catches (src/cli/main.ts),
 * prints `message` and `hint` on one line each, and exits with `exitCode`. Exit codes follow the pipeline so
 * the number tells the stage (README: "Exit codes").
 */
export const ExitCode = {
  usage: 2,
  recipe: 3,
  resolve: 4,
  fetch: 5,
  verify: 6,
  unpack: 7,
  configure: 8,
  sandbox: 9,
  target: 10,
  interrupted: 130,
  internal: 70,
} as const;

export type ErrorKind = keyof typeof ExitCode;

export interface RootstrapErrorOptions {
  hint?: string;
  cause?: unknown;
  /** Only fetch errors use this: the operation may succeed when tried again. */
  retryable?: boolean;
}

export class RootstrapError extends Error {
  readonly kind: ErrorKind;
  readonly code: string;
  readonly hint: string | undefined;
  readonly retryable: boolean;

  constructor(kind: ErrorKind, code: string, message: string, options: RootstrapErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.kind = kind;
    this.code = code;
    this.hint = options.hint;
    this.retryable = options.retryable ?? false;
  }

  get exitCode(): number {
    return ExitCode[this.kind];
  }
}

export class UsageError extends RootstrapError {
  constructor(code: string, message: string, options?: RootstrapErrorOptions) {
    super('usage', code, message, options);
  }
}
export class RecipeError extends RootstrapError {
  constructor(code: string, message: string, options?: RootstrapErrorOptions) {
    super('recipe', code, message, options);
  }
}
export class ResolveError extends RootstrapError {
  constructor(code: string, message: string, options?: RootstrapErrorOptions) {
    super('resolve', code, message, options);
  }
}
export class FetchError extends RootstrapError {
  constructor(code: string, message: string, options?: RootstrapErrorOptions) {
    super('fetch', code, message, options);
  }
}
export class VerifyError extends RootstrapError {
  constructor(code: string, message: string, options?: RootstrapErrorOptions) {
    super('verify', code, message, options);
  }
}
export class UnpackError extends RootstrapError {
  constructor(code: string, message: string, options?: RootstrapErrorOptions) {
    super('unpack', code, message, options);
  }
}
export class ConfigureError extends RootstrapError {
  constructor(code: string, message: string, options?: RootstrapErrorOptions) {
    super('configure', code, message, options);
  }
}
export class SandboxError extends RootstrapError {
  constructor(code: string, message: string, options?: RootstrapErrorOptions) {
    super('sandbox', code, message, options);
  }
}
export class TargetError extends RootstrapError {
  constructor(code: string, message: string, options?: RootstrapErrorOptions) {
    super('target', code, message, options);
  }
}

/** Narrow an unknown throw to a NodeJS system error code, if any. */
export function errnoOf(error: unknown): string | undefined {
  if (typeof error === 'object' && error !== null && 'code' in error) {
    const code = (error as { code: unknown }).code;
    return typeof code === 'string' ? code : undefined;
  }
  return undefined;
}
