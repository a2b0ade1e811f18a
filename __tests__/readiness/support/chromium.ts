import { execFile } from 'child_process';
import { existsSync, mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import * as path from 'path';

export const CHROMIUM = process.env.BQX_CHROMIUM ?? '/usr/bin/chromium';

export function chromiumMissingReason(): string | null {
  return existsSync(CHROMIUM) ? null : `${CHROMIUM} is not installed (Debian package "chromium"; CI installs it): the headless-browser check of the HTML report was not run`;
}

const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

function run(args: string[]): Promise<string> {
  const profile = mkdtempSync(path.join(tmpdir(), 'bqx-chromium-'));
  return new Promise<string>((resolve, reject) => {
    execFile(CHROMIUM, [...FLAGS, `--user-data-dir=${profile}`, ...args], { maxBuffer: 32 * 1024 * 1024, timeout: 60_000 }, (err, stdout, stderr) => {
      rmSync(profile, { recursive: true, force: true });
      if (err) reject(new Error(`chromium failed: ${err.message}\n${stderr.slice(-2000)}`));
      else resolve(stdout);
    });
  });
}

/** The DOM after the page rendered (scripts would have run; this page has none). */
export function dumpDom(file: string): Promise<string> {
  return run(['--dump-dom', `file://${path.resolve(file)}`]);
}

export async function screenshot(file: string, png: string, width = 1280, height = 900): Promise<void> {
  await run([`--window-size=${width},${height}`, `--screenshot=${path.resolve(png)}`, `file://${path.resolve(file)}`]);
}
