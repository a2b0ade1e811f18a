/** Labels every labellable resource carries; the labels policy aspect checks they are set. */
export type Labels = Readonly<Record<string, string>>;

export const mergeLabels = (...sets: (Labels | undefined)[]): Record<string, string> =>
  Object.assign({}, ...sets.filter(Boolean));
