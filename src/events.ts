/** How stages report progress: plain events, so the library works without a terminal (the CLI renders them). */
export type StageName = 'recipe' | 'indexes' | 'resolve' | 'download' | 'unpack' | 'configure' | 'finish';

export type BootstrapEvent =
  | { kind: 'stage-start'; stage: StageName; title: string }
  | { kind: 'stage-done'; stage: StageName; title: string; ms: number }
  | { kind: 'download'; bytes: number; totalBytes: number; doneFiles: number; totalFiles: number }
  | { kind: 'log'; message: string }
  | { kind: 'warning'; message: string };

export type EventSink = (event: BootstrapEvent) => void;
