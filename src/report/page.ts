// One self-contained HTML page for a batch: every image as its smallest variant (embedded) over
// its placeholder, its sizes and bytes, a <picture> snippet to copy, and the failures with their
// reasons. Pure: records and image bytes in, a string out; opens from disk with no server.
import { thumbHashToDataURL } from 'thumbhash';
import { smallestVariant } from '../core/plan.js';
import type { DoneRecord, ImageRecord } from '../core/record.js';
import { formatBytes } from '../core/bytes.js';

export interface ReportInput {
  title: string;
  records: ImageRecord[];
  missing: string[];
  /** The smallest variant's bytes per source key, embedded as data URLs. */
  thumbnails: Map<string, { contentType: string; data: Buffer }>;
  generatedAt: Date;
  /** Source key → the local paths it was uploaded from (relative to what was uploaded). */
  names?: Map<string, string[]>;
  /** Files of the run refused before upload, with their reason. */
  refused?: { relPath: string; reason: string }[];
}

// Records come from a bucket others may write to, and are checked when read (core/record-check.ts);
// the page still trusts none of their fields: every one is escaped, numbers are printed as
// numbers, a colour must be #rrggbb, an embedded image must be one of our types, and the page's
// CSP runs no script at all.
const esc = (s: unknown): string => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const num = (n: unknown): string => (typeof n === 'number' && Number.isFinite(n) ? String(n) : '?');
const colour = (c: unknown): string => (typeof c === 'string' && /^#[0-9a-f]{6}$/i.test(c) ? c : '#888888');
const IMAGE_TYPES = new Set(['image/jpeg', 'image/png', 'image/webp', 'image/avif']);
const CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'";
/** The variant's public URL when there is a CDN (core/cdn-url.ts), else its key as a relative URL. */
const variantUrl = (v: { key: string; url?: string }): string => v.url ?? v.key.split('/').map(encodeURIComponent).join('/');

/** The markup a web page would use for this image: one <source> per extra format, widths as srcset. */
function pictureSnippet(r: DoneRecord): string {
  const byFormat = new Map<string, DoneRecord['variants']>();
  for (const v of r.variants) byFormat.set(v.contentType, [...(byFormat.get(v.contentType) ?? []), v]);
  const srcset = (vs: DoneRecord['variants']) => vs.map((v) => `${variantUrl(v)} ${num(v.width)}w`).join(', ');
  const [fallbackType, fallback] = [...byFormat].find(([t]) => t === 'image/jpeg' || t === 'image/png') ?? [...byFormat][0];
  const largest = fallback.reduce((a, b) => (b.width > a.width ? b : a));
  const smallest = smallestVariant(fallback);
  const sizes = `(max-width: ${num(largest.width)}px) 100vw, ${num(largest.width)}px`;
  const sources = [...byFormat].filter(([t]) => t !== fallbackType).map(([t, vs]) => `  <source type="${esc(t)}" srcset="${esc(srcset(vs))}" sizes="${sizes}">\n`);
  return (
    `<picture>\n${sources.join('')}` +
    `  <img src="${esc(variantUrl(smallest))}" srcset="${esc(srcset(fallback))}" sizes="${sizes}"\n` +
    `       width="${num(largest.width)}" height="${num(largest.height)}" alt="" loading="lazy" decoding="async" style="background:${colour(r.color)}">\n</picture>`
  );
}

/**
 * What a card is called: the paths this run uploaded it from (the manifest's), else the path its
 * record names (the first upload of these bytes, from any machine), else its key's file name.
 */
const shownName = (key: string, names?: string[], recorded?: string) => (names?.length ? names.join(', ') : (recorded ?? key.split('/').pop() ?? key));

function doneCard(r: DoneRecord, thumb: ReportInput['thumbnails'] extends Map<string, infer T> ? T | undefined : never, names?: string[]): string {
  let placeholder = '';
  try {
    placeholder = thumbHashToDataURL(Buffer.from(r.placeholder, 'base64'));
  } catch {
    // a placeholder that does not decode: the card shows its colour instead
  }
  const smallest = smallestVariant(r.variants);
  const img = thumb && IMAGE_TYPES.has(thumb.contentType) ? `<img src="data:${thumb.contentType};base64,${thumb.data.toString('base64')}" width="${num(smallest.width)}" height="${num(smallest.height)}" alt="${esc(r.source.key)}">` : '';
  const rows = r.variants.map((v) => `<tr><td>${esc(v.name)}</td><td>${num(v.width)}×${num(v.height)}</td><td>${esc(v.format)}</td><td>${esc(formatBytes(v.bytes))}</td></tr>`).join('');
  const taken = r.taken ? `<p class="meta">${esc([r.taken.camera, r.taken.at?.slice(0, 10)].filter(Boolean).join(' · '))}</p>` : '';
  return `<article class="card">
  <div class="frame" style="aspect-ratio:${num(smallest.width)}/${num(smallest.height)};background-color:${colour(r.color)};background-image:url(${esc(placeholder)})">${img}</div>
  <h2 title="${esc(r.source.key)}">${esc(shownName(r.source.key, names, r.source.path))}</h2>
  <p class="meta">${num(r.source.width)}×${num(r.source.height)} ${esc(r.source.format)}, ${esc(formatBytes(r.source.bytes))} · <span class="swatch" style="background:${colour(r.color)}"></span>${colour(r.color)}</p>${taken}
  <table><thead><tr><th>variant</th><th>size</th><th>format</th><th>bytes</th></tr></thead><tbody>${rows}</tbody></table>
  <details><summary>&lt;picture&gt; snippet</summary><pre><code>${esc(pictureSnippet(r))}</code></pre></details>
</article>`;
}

const STYLE = `
:root{color-scheme:light dark;font:15px/1.4 system-ui,sans-serif}
body{margin:0 auto;padding:1.5rem;max-width:80rem}
h1{font-size:1.4rem;margin:0 0 .25rem} .summary{margin:0 0 1.5rem;color:GrayText}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(17rem,1fr));gap:1rem}
.card{border:1px solid #8884;border-radius:.5rem;padding:.75rem;min-width:0}
.frame{width:100%;background-size:cover;border-radius:.25rem;overflow:hidden}
.frame img{display:block;width:100%;height:100%;object-fit:cover}
.card h2{font-size:1rem;margin:.5rem 0 0;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
.meta{margin:.15rem 0;color:GrayText;font-size:.85rem}
.swatch{display:inline-block;width:.8em;height:.8em;border-radius:50%;vertical-align:-.1em;margin-right:.25em;border:1px solid #8886}
table{width:100%;border-collapse:collapse;font-size:.85rem;margin:.4rem 0}
td,th{text-align:left;padding:.1rem .3rem;border-bottom:1px solid #8882;white-space:nowrap} th{font-weight:600}
pre{overflow:auto;font-size:.75rem;background:#8881;padding:.5rem;border-radius:.25rem}
.failed li,.refused li,.missing li{margin:.25rem 0} .failed code{font-weight:600}
`;

export function renderReport(input: ReportInput): string {
  const done = input.records.filter((r): r is DoneRecord => r.status === 'done');
  const failed = input.records.filter((r) => r.status === 'failed');
  const failures = failed.length
    ? `<section class="failed"><h2>Failed (${failed.length})</h2><ul>${failed
        .map((r) => (r.status === 'failed' ? `<li><strong>${esc(shownName(r.source.key, input.names?.get(r.source.key)))}</strong> (${esc(r.source.key)}): ${esc(r.reason)} <code>${esc(r.code)}</code></li>` : ''))
        .join('')}</ul></section>`
    : '';
  const refused = input.refused ?? [];
  const refusedList = refused.length
    ? `<section class="refused"><h2>Refused before upload (${refused.length})</h2><ul>${refused.map((f) => `<li><strong>${esc(f.relPath)}</strong>: ${esc(f.reason)}</li>`).join('')}</ul></section>`
    : '';
  const missing = input.missing.length
    ? `<section class="missing"><h2>No record yet (${input.missing.length})</h2><ul>${input.missing.map((k) => `<li>${esc(k)}</li>`).join('')}</ul></section>`
    : '';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta http-equiv="Content-Security-Policy" content="${CSP}"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${esc(input.title)}</title><style>${STYLE}</style></head>
<body><h1>${esc(input.title)}</h1>
<p class="summary">${done.length} done, ${failed.length} failed, ${refused.length ? `${refused.length} refused before upload, ` : ''}${input.missing.length} without a record · ${esc(input.generatedAt.toISOString())}</p>
${refusedList}${failures}${missing}<section class="grid">${done.map((r) => doneCard(r, input.thumbnails.get(r.source.key), input.names?.get(r.source.key))).join('\n')}</section>
</body></html>
`;
}
