// The upload page, run in the browser: the same checks as the CLI (magic bytes from src/core, the
// size limit, the header's pixel count against the pipeline's limit), SHA-256 in the browser
// (WebCrypto, off the main thread), batch presign through POST /uploads, concurrent PUTs with
// progress and retries (a big file in parts, src/web/parts.ts), then each photo's smallest variant
// from the read side (POST /variants).
import { imageSize } from 'image-size';
import pLimit from 'p-limit';
import type { FileRequest, SpecResponse, UploadAnswer, UploadParts, VariantsAnswer } from '../api/contract.js';
import { MULTIPART_MIN_BYTES, partsOf } from '../api/parts.js';
import { smallestVariant } from '../core/plan.js';
import { integrityCheck } from '../core/integrity.js';
import { sourcePathProblem } from '../core/source-path.js';
import { endMarkerReason, pixelLimitReason, sniff, SNIFF_BYTES } from '../core/validate.js';
import { sendParts } from './parts.js';
import { transient, xhrPut } from './xhr-put.js';

type State = 'checking' | 'refused' | 'queued' | 'uploading' | 'resizing' | 'done' | 'failed';

interface Row {
  file: File;
  el: HTMLLIElement;
  state: State;
  sent: number;
  key?: string;
  request?: FileRequest;
}

const HEADER_BYTES = 256 * 1024; // enough for a JPEG's SOF behind a large EXIF block
const BATCH = 20;
const PUTS_AT_ONCE = 4; // whole files and parts alike: a big file's parts go side by side
const putSlot = pLimit(PUTS_AT_ONCE);
const ATTEMPTS = 5;
const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const rows: Row[] = [];
let info: SpecResponse | undefined;

function apiKey(): string {
  return ($('api-key') as HTMLInputElement).value.trim();
}

function notice(text: string | undefined): void {
  const el = $('notice');
  el.hidden = !text;
  el.textContent = text ?? '';
}

async function api<T>(path: string, body?: unknown): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    const res = await fetch(path, {
      method: body === undefined ? 'GET' : 'POST',
      headers: { 'content-type': 'application/json', ...(apiKey() ? { 'x-api-key': apiKey() } : {}) },
      body: body === undefined ? undefined : JSON.stringify(body),
    }).catch(() => undefined);
    if (res?.status === 401) {
      ($('key-box') as HTMLDetailsElement).open = true;
      $('api-key').focus();
      throw new Error('the API wants a key: enter it under "API key" and drop the photos again');
    }
    if (res && (res.ok || (res.status < 500 && res.status !== 429))) return (await res.json()) as T;
    if (attempt >= ATTEMPTS) throw new Error(`the API did not answer (${res ? res.status : 'network error'})`);
    await pause(attempt);
  }
}

const pause = (attempt: number) => new Promise((r) => setTimeout(r, Math.random() * Math.min(8000, 250 * 2 ** attempt)));

function render(row: Row, state: State, text: string, extra?: Node): void {
  row.state = state;
  row.el.className = `row ${state}`;
  const stateEl = row.el.querySelector('.state')!;
  stateEl.textContent = text;
  if (extra) stateEl.append(extra);
  summarise();
}

function summarise(): void {
  const count = (s: State) => rows.filter((r) => r.state === s).length;
  const total = rows.reduce((n, r) => n + (r.state === 'refused' ? 0 : r.file.size), 0);
  const sent = rows.reduce((n, r) => n + (r.state === 'refused' ? 0 : r.sent), 0);
  const progress = $('total') as HTMLProgressElement;
  progress.max = total || 1;
  progress.value = sent;
  const parts = [`${count('done')} of ${rows.length} ready`, count('refused') && `${count('refused')} refused`, count('failed') && `${count('failed')} failed`];
  $('summary').textContent = `${parts.filter(Boolean).join(', ')}; ${Math.round((100 * sent) / (total || 1))} % sent.`;
}

function addRow(file: File): Row {
  const el = document.createElement('li');
  el.innerHTML = '<div class="thumb" aria-hidden="true"></div><div><div class="name"></div><div class="state"></div></div>';
  el.querySelector('.name')!.textContent = file.webkitRelativePath || file.name;
  $('rows').append(el);
  const row: Row = { file, el, state: 'checking', sent: 0 };
  rows.push(row);
  render(row, 'checking', 'checking…');
  return row;
}

function base64(bytes: ArrayBuffer): string {
  let s = '';
  for (const b of new Uint8Array(bytes)) s += String.fromCharCode(b);
  return btoa(s);
}

/** The CLI's checks before anything is sent; a reason when refused. */
async function check(row: Row): Promise<string | undefined> {
  const { file } = row;
  const limits = info?.limits;
  if (file.size === 0) return 'empty file (0 bytes)';
  if (limits && file.size > limits.maxFileBytes) return `file is ${file.size} bytes, over the ${limits.maxFileBytes}-byte limit`;
  const head = new Uint8Array(await file.slice(0, HEADER_BYTES).arrayBuffer());
  const sniffed = sniff(head.subarray(0, SNIFF_BYTES));
  if (!sniffed.ok) return sniffed.reason;
  const truncated = endMarkerReason(sniffed.format, new Uint8Array(await file.slice(-4096).arrayBuffer()));
  if (truncated) return truncated;
  const bytes = await file.arrayBuffer();
  let size: { width?: number; height?: number } = {};
  try {
    // A TIFF may keep its directory after the pixels (libtiff writes it last): then the whole file.
    size = imageSize(head.length < file.size && sniffed.format === 'tiff' ? headOrWhole(head, bytes) : head);
  } catch {
    return 'corrupt or truncated image: its header cannot be read';
  }
  const maxPixels = (info?.spec as { maxInputPixels?: number } | undefined)?.maxInputPixels;
  const tooLarge = size.width && size.height && maxPixels ? pixelLimitReason(size.width, size.height, maxPixels) : undefined;
  if (tooLarge) return tooLarge;
  // The CLI's structural checks (box walk, CRCs, declared sizes), from src/core: a definite verdict
  // refuses; a mere suspicion is left to the resize, which the page cannot run.
  const structure = integrityCheck(sniffed.format);
  structure.update(new Uint8Array(bytes));
  const verdict = structure.finish();
  if (!verdict.ok && verdict.definite) return verdict.reason;
  const sha256 = base64(await crypto.subtle.digest('SHA-256', bytes));
  // A folder picked whole gives each file its path in it: the record keeps it as the photo's label.
  const label = file.webkitRelativePath && !sourcePathProblem(file.webkitRelativePath) ? { path: file.webkitRelativePath } : {};
  // A big file goes in parts: the API answers a multipart plan when it gets each part's hash.
  const parts = file.size >= MULTIPART_MIN_BYTES ? { parts: await Promise.all(partsOf(file.size).map(async (p) => base64(await crypto.subtle.digest('SHA-256', new Uint8Array(bytes, p.start, p.size))))) } : {};
  row.request = { name: file.name, size: file.size, contentType: sniffed.contentType, sha256, ...label, ...parts };
  return undefined;
}

function headOrWhole(head: Uint8Array, whole: ArrayBuffer): Uint8Array {
  try {
    imageSize(head);
    return head;
  } catch {
    return new Uint8Array(whole);
  }
}

/**
 * One file, one PUT: a slot, then the retries; a fresh URL if the one given expired while queued.
 * Should the fresh answer be a plan in parts, the parts are sent after this slot is given back:
 * they wait for slots of their own, and four such files holding theirs would wait for ever.
 */
async function upload(row: Row, answer: Extract<UploadAnswer, { url: string }>): Promise<void> {
  const inParts = await putSlot(() => putWhole(row, answer));
  if (inParts) await uploadParts(row, inParts);
}

async function putWhole(row: Row, answer: Extract<UploadAnswer, { url: string }>): Promise<UploadParts | undefined> {
  let { url, headers } = answer;
  for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
    const bar = document.createElement('progress');
    bar.max = row.file.size;
    render(row, 'uploading', attempt > 1 ? `sending (attempt ${attempt})… ` : 'sending… ', bar);
    const status = await xhrPut(url, headers, row.file, (bytes) => showSent(row, bytes));
    if (status >= 200 && status < 300) return void waitFor(row);
    row.sent = 0;
    if (status === -403) {
      // Same key: the content decides it.
      const fresh = await presignAgain(row);
      if ('exists' in fresh) return void waitFor(row);
      if ('error' in fresh) return void render(row, 'failed', fresh.error.message);
      if ('uploadId' in fresh) return fresh;
      ({ url, headers } = fresh);
      continue;
    }
    if (!transient(status)) return void render(row, 'failed', `refused by storage (${status})`);
    await pause(attempt);
  }
  render(row, 'failed', `not sent after ${ATTEMPTS} attempts`);
}

async function presignAgain(row: Row): Promise<UploadAnswer> {
  return (await api<{ uploads: UploadAnswer[] }>('uploads', { files: [row.request] })).uploads[0];
}

function showSent(row: Row, bytes: number): void {
  row.sent = bytes;
  const bar = row.el.querySelector('progress');
  if (bar) bar.value = bytes;
  summarise();
}

/** A big file: its parts on the shared PUT slots, per-part progress, then the API joins them. */
async function uploadParts(row: Row, plan: UploadParts): Promise<void> {
  const bar = document.createElement('progress');
  bar.max = row.file.size;
  const status = document.createElement('span');
  render(row, 'uploading', '', status);
  row.el.querySelector('.state')!.append(' ', bar);
  const outcome = await sendParts(plan, {
    file: row.file,
    request: row.request as FileRequest & { parts: string[] },
    slot: putSlot,
    replan: () => presignAgain(row),
    complete: (body) => api('uploads/complete', body),
    pause,
    attempts: ATTEMPTS,
    progress: ({ sent, stored, resumed, total }) => {
      status.textContent = `${stored} of ${total} parts stored${resumed ? ` (${resumed} from before)` : ''}… `;
      showSent(row, sent);
    },
  }).catch((err: Error) => ({ sent: false as const, reason: err.message }));
  if (outcome.sent) waitFor(row);
  else render(row, 'failed', outcome.reason);
}

function waitFor(row: Row): void {
  row.sent = row.file.size;
  render(row, 'resizing', 'resizing…');
}

/** Presign a batch, then send its files: each PUT (a file, or a part of one) waits for a slot. */
async function send(batch: Row[]): Promise<void> {
  const { uploads } = await api<{ uploads: UploadAnswer[] }>('uploads', { files: batch.map((r) => r.request) });
  const sending = uploads.map((answer, i) => {
    const row = batch[i];
    if ('error' in answer) return render(row, 'refused', answer.error.message);
    row.key = answer.key;
    if ('exists' in answer) return waitFor(row);
    render(row, 'queued', 'waiting to send…');
    return 'uploadId' in answer ? uploadParts(row, answer) : upload(row, answer);
  });
  await Promise.all(sending);
}

function showDone(row: Row, answer: Extract<VariantsAnswer, { status: 'done' }>): void {
  const smallest = smallestVariant(answer.variants);
  const thumb = row.el.querySelector('.thumb') as HTMLElement;
  thumb.style.backgroundColor = answer.color;
  const img = document.createElement('img');
  img.src = smallest.url;
  img.alt = `${row.file.name}, resized`;
  img.width = smallest.width;
  img.height = smallest.height;
  thumb.replaceChildren(img);
  const links = document.createElement('span');
  links.className = 'links';
  for (const v of answer.variants) {
    const a = document.createElement('a');
    a.href = v.url;
    a.textContent = `${v.name} (${v.width}×${v.height})`;
    links.append(a);
  }
  render(row, 'done', 'ready: ', links);
}

/** Ask the read side about every photo still being resized, until none is. */
async function poll(): Promise<void> {
  for (;;) {
    const waiting = rows.filter((r) => r.state === 'resizing' && r.key);
    if (waiting.length) {
      try {
        const { variants } = await api<{ variants: VariantsAnswer[] }>('variants', { keys: waiting.slice(0, 100).map((r) => r.key) });
        variants.forEach((answer, i) => {
          const row = waiting[i];
          if (answer.status === 'done') showDone(row, answer);
          else if (answer.status === 'failed' || answer.status === 'refused') render(row, 'failed', `resize failed: ${answer.error.message}`);
        });
      } catch (err) {
        notice((err as Error).message);
      }
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
}

async function take(files: File[]): Promise<void> {
  notice(undefined);
  const fresh = files.map(addRow);
  try {
    info ??= await api<SpecResponse>('spec');
  } catch (err) {
    notice((err as Error).message);
  }
  const ready: Row[] = [];
  for (const row of fresh) {
    const reason = await check(row).catch((err: Error) => `cannot read the file: ${err.message}`);
    if (reason) render(row, 'refused', reason);
    else {
      render(row, 'queued', 'waiting to send…');
      ready.push(row);
    }
  }
  try {
    for (let i = 0; i < ready.length; i += BATCH) await send(ready.slice(i, i + BATCH));
  } catch (err) {
    notice((err as Error).message);
    for (const row of ready) if (row.state === 'queued') render(row, 'failed', 'not sent');
  }
}

function wire(): void {
  const keyField = $('api-key') as HTMLInputElement;
  keyField.value = sessionStorage.getItem('imgpipe-api-key') ?? '';
  keyField.addEventListener('change', () => sessionStorage.setItem('imgpipe-api-key', keyField.value.trim()));
  for (const id of ['files', 'folder']) {
    const input = $(id) as HTMLInputElement;
    input.addEventListener('change', () => {
      void take([...(input.files ?? [])]);
      input.value = '';
    });
  }
  const drop = $('drop');
  drop.addEventListener('dragover', (e) => {
    e.preventDefault();
    drop.classList.add('over');
  });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (e) => {
    e.preventDefault();
    drop.classList.remove('over');
    void take([...(e.dataTransfer?.files ?? [])]);
  });
  document.addEventListener('paste', (e) => void take([...(e.clipboardData?.files ?? [])]));
  void poll();
}

wire();
