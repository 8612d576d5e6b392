// Chromium for the browser tests and benchmarks, with nothing but Node installed: Debian's
// /usr/bin/chromium when the machine has it, else the Chromium that the npm package
// @sparticuz/chromium carries inside itself (unpacked to the temp folder on first use). Nothing
// is downloaded: a test tool's own browser download does not work on these machines.
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

const DEBIAN_CHROMIUM = '/usr/bin/chromium';
// Without the background-networking flags Chromium keeps dialling Google's hosts, which a closed
// network refuses, many at a time.
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'];

const LAMBDA_ONLY_FLAGS = new Set(['--single-process', '--no-zygote']);

export async function chromiumExecutable(): Promise<{ path: string; args: string[]; source: string }> {
  if (existsSync(DEBIAN_CHROMIUM)) return { path: DEBIAN_CHROMIUM, args: FLAGS, source: 'Debian' };
  try {
    const { default: packaged } = await import('@sparticuz/chromium');
    // Its flags are for AWS Lambda; --single-process there takes the whole browser down when a
    // browser context closes, which a test suite does between tests. Here it runs as a normal,
    // multi-process Chromium.
    const args = packaged.args.filter((flag) => !LAMBDA_ONLY_FLAGS.has(flag));
    return { path: await packaged.executablePath(), args: [...new Set([...args, ...FLAGS])], source: '@sparticuz/chromium' };
  } catch (error) {
    throw new Error(
      `No Chromium found: neither ${DEBIAN_CHROMIUM} (apt-get install chromium) nor the npm package @sparticuz/chromium (npm install) could be used: ${String(error)}`,
    );
  }
}

export async function launchChromium(): Promise<Browser> {
  const { path, args } = await chromiumExecutable();
  return chromium.launch({ executablePath: path, args });
}
