// Debian's Chromium, headless, as every browser test starts it (never a downloaded browser).
import type { Browser } from 'playwright-core';
import { TOOLS } from './tools.js';

export async function launchChromium(): Promise<Browser> {
  const { chromium } = await import('playwright-core');
  return chromium.launch({ executablePath: TOOLS.chromium.name, headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'] });
}
