/** Every `bqx <verb> ...` inside fenced code blocks and inline code spans, with the options it shows. */
export function bqxCommands(markdown: string): { verb: string; sub: string | null; options: string[]; text: string }[] {
  const code: string[] = [];
  for (const m of markdown.matchAll(/```[a-z]*\n([\s\S]*?)```/g)) code.push(...m[1].split('\n'));
  const withoutFences = markdown.replace(/```[a-z]*\n[\s\S]*?```/g, '');
  for (const m of withoutFences.matchAll(/`([^`\n]+)`/g)) code.push(m[1]);
  const out: { verb: string; sub: string | null; options: string[]; text: string }[] = [];
  for (const line of code) {
    for (const m of line.matchAll(/(?:^|[\s(])bqx ([a-z][a-z-]*)((?: [^;&|]*)?)/g)) {
      out.push({ verb: m[1], sub: /^ ([a-z][a-z-]*)(?: |$)/.exec(m[2] ?? '')?.[1] ?? null, options: [...(m[2] ?? '').matchAll(/(?:^|\s)(--[a-z][a-z-]*)/g)].map((o) => o[1]), text: m[0].trim() });
    }
  }
  return out;
}
