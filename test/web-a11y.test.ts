// The upload page for a keyboard and a screen reader, in a real browser: axe-core (run inside
// Chromium) finds no serious or critical violation, Tab walks the controls in reading order, and
// wherever focus lands a person can see it (WCAG 2.4.7): the focused control's visible label has
// a ring, and the pixels around it change.
import { writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as img from './helpers/images.js';
import type { TestStack } from './helpers/stack.js';
import { have, TOOLS } from './helpers/tools.js';
import { launchChromium } from './helpers/browser.js';

const HAS_CHROMIUM = have(TOOLS.chromium, 'web-a11y.test');
const AXE_SOURCE: string = createRequire(import.meta.url)('axe-core').source;

/** How many pixels differ between two same-sized PNG screenshots. */
async function changedPixels(a: Buffer, b: Buffer): Promise<number> {
  const [x, y] = await Promise.all([a, b].map((p) => sharp(p).raw().toBuffer({ resolveWithObject: true })));
  let n = 0;
  for (let i = 0; i < x.data.length; i += x.info.channels) if (x.data[i] !== y.data[i] || x.data[i + 1] !== y.data[i + 1] || x.data[i + 2] !== y.data[i + 2]) n++;
  return n;
}

describe.skipIf(!HAS_CHROMIUM)('the upload page for the keyboard (Chromium, axe-core)', () => {
  let stack: TestStack;
  let browser: import('playwright-core').Browser;
  let shots: string;

  beforeAll(async () => {
    const { startTestStack } = await import('./helpers/stack.js');
    stack = await startTestStack();
    shots = await img.tempDir('imgpipe-a11y-');
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await stack?.stop();
  });

  for (const width of [1280, 390]) {
    it(`has no serious or critical axe violation at ${width} px`, async () => {
      // The page's CSP allows only its own script; axe is the test's, so this context bypasses it.
      const page = await browser.newPage({ viewport: { width, height: 900 }, bypassCSP: true });
      await page.goto(`${stack.apiUrl}/`);
      await page.addScriptTag({ content: AXE_SOURCE });
      await page.evaluate(() => ((document.getElementById('key-box') as HTMLDetailsElement).open = true)); // its field too
      const result = await page.evaluate(() => (window as unknown as { axe: { run(): Promise<{ violations: { id: string; impact: string; nodes: { target: string[] }[] }[] }> } }).axe.run());
      const bad = result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => `${v.id} (${v.impact}): ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
      expect(bad).toEqual([]);
      await page.close();
    });
  }

  it('Tab walks the controls in order, and each one shows where focus is', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await page.goto(`${stack.apiUrl}/`);
    // What a sighted keyboard user sees as focused: the control itself, or the label standing in for
    // an input that is visually hidden (the file pickers).
    const visibleFocus = () =>
      page.evaluate(() => {
        const el = document.activeElement as HTMLElement;
        const shown = el instanceof HTMLInputElement && el.type === 'file' ? (document.querySelector(`label[for="${el.id}"]`) as HTMLElement) : el;
        const s = getComputedStyle(shown);
        const r = shown.getBoundingClientRect();
        return { id: el.id || el.tagName.toLowerCase(), label: shown.textContent!.trim(), outline: s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2, box: { x: r.x, y: r.y, width: r.width, height: r.height } };
      });
    const baseline = await page.screenshot(); // nothing focused yet
    const region = async (png: Buffer, b: { x: number; y: number; width: number; height: number }) =>
      sharp(png).extract({ left: Math.max(0, Math.floor(b.x) - 8), top: Math.max(0, Math.floor(b.y) - 8), width: Math.ceil(b.width) + 16, height: Math.ceil(b.height) + 16 }).png().toBuffer();

    for (const [i, expected] of [
      { id: 'files', label: 'choose photos' },
      { id: 'folder', label: 'choose a folder' },
      { id: 'summary', label: 'API key' },
    ].entries()) {
      await page.keyboard.press('Tab');
      const f = await visibleFocus();
      expect({ id: f.id, label: f.label }).toEqual(expected);
      expect(f.outline, `a focus ring on "${f.label}"`).toBe(true);
      // The ring is on screen: the spot around the control differs from the page with nothing focused.
      const now = await page.screenshot();
      if (i === 0) await writeFile(path.join(shots, 'focus-files.png'), now);
      expect(await changedPixels(await region(now, f.box), await region(baseline, f.box)), `pixels that show focus on "${f.label}"`).toBeGreaterThan(40);
    }
    // Open the key box with the keyboard; its field is next.
    await page.keyboard.press('Enter');
    await page.keyboard.press('Tab');
    expect((await visibleFocus()).id).toBe('api-key');
    process.stdout.write(`web a11y screenshot: ${shots}/focus-files.png\n`);
    await page.close();
  });
});
