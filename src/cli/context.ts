export interface CliContext {
  readonly signal: AbortSignal;
  readonly log: (line: string) => void;
}
