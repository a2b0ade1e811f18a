/** How long work reports its progress (the app decides where it goes: a terminal, or nowhere). */
export interface Progress {
  update(done: number, total: number, label: string): void;
  done(): void;
}

export const silentProgress: Progress = { update: () => undefined, done: () => undefined };
