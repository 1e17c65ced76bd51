#!/usr/bin/env node
// bench/run.mjs — resize benchmark: imgpipe vs a plain sharp script and the usual peers.
//
// Every JPEG of a folder becomes 3 JPEGs, widths 320/1024/2048 (aspect kept, never upscaled, q80),
// with each tool in turn. The commands follow ../shared/bench/resize-peers.sh so the numbers are
// comparable with its README. Each tool runs as its own process tree under /usr/bin/time -v,
// one tool at a time, REPS times; medians are reported.
//
// usage: npm run bench [-- FOLDER]      (default ../shared/corpus when present, else examples/photos)
// env:   REPS (3)   TOOLS (space list, default all)   IMGPIPE_ARGS (extra resize-local flags, e.g.
//        "--concurrency 1")   KEEP_OUT (dir: keep each tool's rep-1 outputs)
//        BENCH=resize|upload|presign|all (default all: this resize bench, then bench/upload.mjs, the
//        upload bench, as its own process, its settings the UPLOAD_* variables, see bench/README.md;
//        then bench/presign.mjs, the presign API's largest batch against its timeout); BENCH=wan runs
//        bench/upload-wan.mjs alone (multipart uploads through a WAN-like proxy, WAN_* variables);
//        BENCH=reprocess runs bench/reprocess.mjs alone (reprocess --all of 2,000 photos, REPROCESS_*);
//        BENCH=heic runs bench/heic.mjs alone (12 MP HEIC against the same photos as JPEG, HEIC_*)
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { gnuTime } from './gnu-time.mjs';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

// Which benches: the resize one (below), the upload one (bench/upload.mjs), or both in turn.
const BENCH = (process.env.BENCH ?? 'all').trim().toLowerCase() || 'all';
if (!['resize', 'upload', 'presign', 'wan', 'reprocess', 'heic', 'all'].includes(BENCH)) {
  console.error(`bench: BENCH must be resize, upload, presign, wan, reprocess, heic or all (got ${process.env.BENCH})`);
  process.exit(2);
}
const runBench = (file) => spawnSync(process.execPath, [path.join(ROOT, 'bench', file)], { cwd: ROOT, stdio: 'inherit' }).status ?? 1;
if (BENCH === 'upload') process.exit(runBench('upload.mjs'));
if (BENCH === 'presign') process.exit(runBench('presign.mjs'));
if (BENCH === 'wan') process.exit(runBench('upload-wan.mjs')); // not part of "all": big files, minutes
if (BENCH === 'reprocess') process.exit(runBench('reprocess.mjs')); // not part of "all": 2,000 uploads first, minutes
if (BENCH === 'heic') process.exit(runBench('heic.mjs')); // not part of "all": 12 MP HEICs, made once with heif-enc
const PEERS = path.resolve(ROOT, '../shared/bench');
const WIDTHS = [320, 1024, 2048];
const Q = 80;
const REPS = Math.max(1, Number(process.env.REPS ?? 3) || 3);
const PYTHON = process.env.PYTHON ?? '/usr/bin/python3'; // Debian's python3-pil; a venv python may lack PIL
const SAMPLE_MS = 20;

// ---- corpus -----------------------------------------------------------------------------------
const isJpeg = (f) => /\.jpe?g$/i.test(f);
const jpegsIn = (dir) =>
  fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => isJpeg(f) && fs.statSync(path.join(dir, f)).isFile()).sort() : [];
const shared = path.resolve(ROOT, '../shared/corpus');
// `npm run` changes to the package root; resolve a user's folder from where they typed it.
const corpus = process.argv[2]
  ? path.resolve(process.env.INIT_CWD ?? process.cwd(), process.argv[2])
  : jpegsIn(shared).length ? shared : path.join(ROOT, 'examples/photos');
const names = jpegsIn(corpus);
if (!names.length) {
  console.error(`bench: no *.jpg/*.jpeg in ${corpus}`);
  process.exit(2);
}
const files = names.map((f) => path.join(corpus, f));
const N = files.length;
// Untimed: stored size + EXIF orientation (for ImageMagick's decode hint), input totals, and a
// read of every file so the page cache is warm for whichever tool goes first.
const dims = await Promise.all(files.map(async (f) => {
  const m = await sharp(f).metadata();
  return { file: f, base: path.basename(f).replace(/\.[^.]+$/, ''), w: m.width, h: m.height, o: m.orientation ?? 1 };
}));
const inMP = dims.reduce((s, d) => s + d.w * d.h, 0) / 1e6;
const inMB = files.reduce((s, f) => s + fs.readFileSync(f).length, 0) / 1e6;

const WORK = fs.mkdtempSync(path.join(os.tmpdir(), 'imgpipe-bench-'));
const cleanup = () => fs.rmSync(WORK, { recursive: true, force: true });
process.on('exit', cleanup);
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(130));

// ---- helpers ----------------------------------------------------------------------------------
const sh = (s) => `'${String(s).replace(/'/g, `'\\''`)}'`; // quote for a generated sh script
const out1 = (cmd, args) => {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  return r.status === 0 ? `${r.stdout}${r.stderr}` : null;
};
const onPath = (cmd) => out1('sh', ['-c', `command -v ${cmd}`]) !== null;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];
const HAVE_TIME = fs.existsSync('/usr/bin/time');

// /usr/local/bin/convert on some machines is a python stand-in that forwards to /usr/bin/convert:
// call the real ImageMagick directly so each call is not charged a python start-up.
const CONVERT = ['/usr/bin/convert', 'convert'].find((c) => /ImageMagick/.test(out1(c, ['-version']) ?? ''));
const PILLOW = out1(PYTHON, ['-c', 'import PIL; print(PIL.__version__)'])?.trim();

// ---- the tools: each is one command line, timed as a whole -----------------------------------
const writeScript = (name, text) => {
  const p = path.join(WORK, name);
  fs.writeFileSync(p, text);
  return p;
};

// vipsthumbnail: one call per width over all files; "Wx>" = width only, shrink only.
const vipsScript = writeScript('vipsthumbnail.sh', ['set -e; out=$1; shift',
  ...WIDTHS.map((w) => `vipsthumbnail -s '${w}x>' -o "$out/%s_${w}.jpg[Q=${Q},optimize_coding,strip]" "$@"`)].join('\n'));

// ImageMagick, decode once per image, 3 outputs via +clone.
const imScript = (list) => writeScript(`im-${list.length}.sh`, ['set -e; out=$1', ...list.map((d) =>
  `${CONVERT} ${sh(d.file)} -auto-orient -strip -quality ${Q} -define jpeg:optimize-coding=true` +
  [2048, 1024].map((w) => ` \\( +clone -resize '${w}x>' -write "$out"/${sh(`${d.base}_${w}.jpg`)} +delete \\)`).join('') +
  ` -resize '320x>' "$out"/${sh(`${d.base}_320.jpg`)}`)].join('\n'));

// ImageMagick, one call per output with libjpeg's DCT shrink-on-load hint (2x the target, in
// stored orientation). IM 6.9 upscales the decode when the hint exceeds the image: hint only to shrink.
const imHintScript = (list) => writeScript(`im-hint-${list.length}.sh`, ['set -e; out=$1', ...list.flatMap((d) => {
  const rot = d.o >= 5;
  const [ow, oh] = rot ? [d.h, d.w] : [d.w, d.h];
  return WIDTHS.map((tw) => {
    const t = Math.min(tw, ow);
    const th = Math.ceil((t * oh) / ow);
    const [hw, hh] = rot ? [2 * th, 2 * t] : [2 * t, 2 * th];
    const hint = hw <= d.w && hh <= d.h ? `-define jpeg:size=${hw}x${hh} ` : '';
    return `${CONVERT} ${hint}${sh(d.file)} -auto-orient -strip -resize '${tw}x>' -quality ${Q} ` +
      `-define jpeg:optimize-coding=true "$out"/${sh(`${d.base}_${tw}.jpg`)}`;
  });
})].join('\n'));

// Pillow, as in resize-peers.sh: "draft" = DCT shrink-on-load per output, "lanczos" = full decode once.
const pillowPy = writeScript('pillow.py', `
import os, sys
from PIL import Image, ImageOps
mode, ind, outd = sys.argv[1:4]
WIDTHS, Q = (${WIDTHS.join(', ')}), ${Q}
files = sorted(f for f in os.listdir(ind) if f.lower().endswith(('.jpg', '.jpeg')))
def target(ow, oh, w):                      # never upscale, keep aspect
    tw = min(w, ow)
    return tw, max(1, round(oh * tw / ow))
def orient_of(im):
    try: return im.getexif().get(0x0112, 1) or 1
    except Exception: return 1
def upright(im, o):                         # auto-orient (loads pixels)
    if o != 1: return ImageOps.exif_transpose(im)
    im.load(); return im
def save(im, path):                         # no exif=/icc_profile= -> metadata stripped
    if im.mode not in ('RGB', 'L'): im = im.convert('RGB')
    im.save(path, 'JPEG', quality=Q, optimize=True)
for f in files:
    p, b = os.path.join(ind, f), os.path.splitext(f)[0]
    if mode == 'lanczos':
        with Image.open(p) as src:
            im = upright(src, orient_of(src))
            for w in WIDTHS:
                size = target(im.width, im.height, w)
                save(im if size == im.size else im.resize(size, Image.LANCZOS), f'{outd}/{b}_{w}.jpg')
    else:
        for w in WIDTHS:
            with Image.open(p) as src:
                o = orient_of(src)
                sw, sh = src.size
                ow, oh = (sh, sw) if o in (5, 6, 7, 8) else (sw, sh)
                tw, th = target(ow, oh, w)
                dw, dh = (th, tw) if o in (5, 6, 7, 8) else (tw, th)
                src.draft(None, (2 * dw, 2 * dh))
                im = upright(src, o)
                save(im if (tw, th) == im.size else im.resize((tw, th), Image.LANCZOS), f'{outd}/{b}_{w}.jpg')
`);

const SHARP_JS = path.join(PEERS, 'sharp-resize.mjs');
const IMGPIPE_ARGS = (process.env.IMGPIPE_ARGS ?? '').split(/\s+/).filter(Boolean);
// Each tool: why it cannot run (or null), and its command for (input dir, its files, output dir).
const TOOLS = {
  // The baseline: sharp's docs pattern (clone() per width), using this project's sharp.
  sharp: {
    missing: fs.existsSync(SHARP_JS) ? null : `${SHARP_JS} not found`,
    cmd: (dir, _list, out) => ['node', SHARP_JS, dir, out],
    env: { SHARP_DIR: ROOT },
  },
  // imgpipe as a user runs it (`npx imgpipe` executes the bin, whose sh line sets MALLOC_ARENA_MAX).
  // Explicit spec flags so a stray imgpipe.config.json cannot change the job.
  imgpipe: {
    missing: null,
    cmd: (dir, _list, out) => [path.join(ROOT, 'bin/imgpipe.js'), 'resize-local', dir, '--out', out, '--json',
      '--widths', WIDTHS.join(','), '--format', 'jpeg', '--quality', String(Q), ...IMGPIPE_ARGS],
  },
  vipsthumbnail: {
    missing: onPath('vipsthumbnail') ? null : 'vipsthumbnail not installed (apt-get install libvips-tools)',
    cmd: (_dir, list, out) => ['sh', vipsScript, out, ...list.map((d) => d.file)],
  },
  'im-convert': {
    missing: CONVERT ? null : 'ImageMagick convert not installed (apt-get install imagemagick)',
    cmd: (_dir, list, out) => ['sh', imScript(list), out],
  },
  'im-convert-hint': {
    missing: CONVERT ? null : 'ImageMagick convert not installed (apt-get install imagemagick)',
    cmd: (_dir, list, out) => ['sh', imHintScript(list), out],
  },
  'pillow-draft': {
    missing: PILLOW ? null : `${PYTHON} cannot import PIL (apt-get install python3-pil)`,
    cmd: (dir, _list, out) => [PYTHON, pillowPy, 'draft', dir, out],
  },
  'pillow-lanczos': {
    missing: PILLOW ? null : `${PYTHON} cannot import PIL (apt-get install python3-pil)`,
    cmd: (dir, _list, out) => [PYTHON, pillowPy, 'lanczos', dir, out],
  },
};
const wanted = (process.env.TOOLS ?? Object.keys(TOOLS).join(' ')).split(/\s+/).filter(Boolean);
for (const t of wanted) if (!TOOLS[t]) { console.error(`bench: unknown tool ${t} (known: ${Object.keys(TOOLS).join(' ')})`); process.exit(2); }
const tools = wanted.filter((t) => {
  if (TOOLS[t].missing) console.log(`# skipped ${t}: ${TOOLS[t].missing}`);
  return !TOOLS[t].missing;
});

// imgpipe runs from its build; build it once if dist/ is missing.
if (tools.includes('imgpipe') && !fs.existsSync(path.join(ROOT, 'dist/src/cli/main.js'))) {
  console.log('# dist/ missing: npm run build');
  if (spawnSync('npm', ['run', 'build'], { cwd: ROOT, stdio: 'inherit' }).status !== 0) process.exit(1);
}

// ---- measuring one run ------------------------------------------------------------------------
// Memory is reported two ways. "peak RSS" is GNU time's ru_maxrss: the largest single process of
// the tree (for imgpipe, the re-executed child, not its launcher shim). "tree RSS" is the sum of
// VmRSS over all live processes of the tree, sampled every SAMPLE_MS: what the machine actually
// holds at once (for imgpipe: shim + child), a slight under-estimate since peaks between samples
// are missed.
function treeRss(rootPid, ppidCache) {
  const kids = new Map(); // ppid -> [pid]
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    let ppid = ppidCache.get(d);
    if (ppid === undefined) {
      try {
        const stat = fs.readFileSync(`/proc/${d}/stat`, 'utf8');
        ppid = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1];
      } catch { continue; } // exited meanwhile
      ppidCache.set(d, ppid);
    }
    if (!kids.has(ppid)) kids.set(ppid, []);
    kids.get(ppid).push(d);
  }
  let kb = 0;
  const todo = [...(kids.get(String(rootPid)) ?? [])]; // rootPid itself is /usr/bin/time: left out
  while (todo.length) {
    const pid = todo.pop();
    try { kb += Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0); } catch { /* gone */ }
    todo.push(...(kids.get(pid) ?? []));
  }
  return kb;
}

function runOnce(tool, dir, list, out) {
  fs.mkdirSync(out, { recursive: true });
  const argv = TOOLS[tool].cmd(dir, list, out);
  const timeFile = path.join(WORK, 'time.txt');
  const full = HAVE_TIME ? ['/usr/bin/time', '-v', '-o', timeFile, ...argv] : argv;
  return new Promise((resolve) => {
    const t0 = process.hrtime.bigint();
    const child = spawn(full[0], full.slice(1), {
      cwd: WORK,
      env: { ...process.env, ...TOOLS[tool].env },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (c) => { stderr = (stderr + c).slice(-4000); });
    const cache = new Map();
    let treeKb = 0;
    const timer = setInterval(() => { treeKb = Math.max(treeKb, treeRss(child.pid, cache)); }, SAMPLE_MS);
    child.on('close', (code) => {
      const wall = Number(process.hrtime.bigint() - t0) / 1e9;
      clearInterval(timer);
      let rssKb = NaN, cpu = NaN;
      if (HAVE_TIME && fs.existsSync(timeFile)) {
        const t = gnuTime(fs.readFileSync(timeFile, 'utf8'));
        rssKb = t.rssMB * 1024;
        cpu = t.cpu;
        fs.rmSync(timeFile);
      }
      resolve({ ok: code === 0, stderr, wall, rssMB: rssKb / 1024, treeMB: treeKb / 1024, cpu });
    });
  });
}

// Untimed: what was written, from the files themselves (imgpipe nests them in per-variant folders).
async function outputStats(dir) {
  const found = fs.readdirSync(dir, { recursive: true }).map((f) => path.join(dir, f)).filter((f) => isJpeg(f) && fs.statSync(f).isFile());
  let px = 0, bytes = 0;
  for (const f of found) {
    const m = await sharp(f).metadata();
    px += m.width * m.height;
    bytes += fs.statSync(f).size;
  }
  return { count: found.length, mp: px / 1e6, mb: bytes / 1e6 };
}

// ---- header -----------------------------------------------------------------------------------
const vipsCli = onPath('vips') ? out1('vips', ['--version'])?.trim() : null;
const imVer = CONVERT ? /ImageMagick (\S+)/.exec(out1(CONVERT, ['-version']))?.[1] : null;
console.log(`# imgpipe resize bench  ${new Date().toISOString()}  host: nproc ${os.availableParallelism()}, ` +
  `${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, ${os.release()}`);
console.log(`# sharp ${sharp.versions.sharp} (libvips ${sharp.versions.vips}, concurrency ${sharp.concurrency()}) | node ${process.version} | ` +
  `UV_THREADPOOL_SIZE ${process.env.UV_THREADPOOL_SIZE ?? 'default(4)'} | peers: ${vipsCli ?? 'no vips'}, ` +
  `ImageMagick ${imVer ?? 'absent'}, Pillow ${PILLOW ?? 'absent'}`);
console.log(`# corpus ${corpus}: ${N} JPEGs, ${inMP.toFixed(1)} MP, ${inMB.toFixed(1)} MB in; ${3 * N} outputs per tool ` +
  `(widths ${WIDTHS.join('/')}, q${Q}); reps ${REPS} (median)${IMGPIPE_ARGS.length ? `; imgpipe extra args: ${IMGPIPE_ARGS.join(' ')}` : ''}`);
if (!HAVE_TIME) console.log('# /usr/bin/time missing (apt-get install time): peak RSS and CPU columns are n/a');

// ---- warm-up (untimed): each tool once on the first image, so first-run costs are not measured --
const warmDir = path.join(WORK, 'warm-in');
fs.mkdirSync(warmDir);
fs.symlinkSync(files[0], path.join(warmDir, names[0]));
for (const t of tools) await runOnce(t, warmDir, dims.slice(0, 1), path.join(WORK, 'warm-out', t));

// ---- timed runs: tools interleaved within each rep so drift hits them all alike ----------------
const runs = Object.fromEntries(tools.map((t) => [t, []]));
const outs = {};
for (let rep = 1; rep <= REPS; rep++) {
  for (const t of tools) {
    const out = path.join(WORK, 'out', t);
    fs.rmSync(out, { recursive: true, force: true });
    const r = await runOnce(t, corpus, dims, out);
    if (!r.ok) {
      console.log(`# !! ${t} failed (rep ${rep}): ${r.stderr.trim().split('\n').slice(-3).join(' / ')}`);
    } else {
      if (rep === 1) {
        outs[t] = await outputStats(out);
        if (outs[t].count !== 3 * N) console.log(`# !! ${t}: ${outs[t].count} outputs, expected ${3 * N}`);
        if (process.env.KEEP_OUT) fs.cpSync(out, path.join(path.resolve(process.env.INIT_CWD ?? '.', process.env.KEEP_OUT), t), { recursive: true });
      }
      runs[t].push(r);
      console.error(`# rep ${rep} ${t.padEnd(16)} ${r.wall.toFixed(2)} s  rss ${r.rssMB.toFixed(0)} MB  tree ${r.treeMB.toFixed(0)} MB  cpu ${r.cpu.toFixed(2)} s`);
    }
    fs.rmSync(out, { recursive: true, force: true });
  }
}

// ---- table ------------------------------------------------------------------------------------
const med = (t, k) => median(runs[t].map((r) => r[k]));
const baseS = runs.sharp?.length ? med('sharp', 'wall') : NaN;
const cols = ['tool', 'seconds', 'images/s', 'out MP/s', 'peak RSS MB', 'tree RSS MB', 'CPU s', 'vs sharp', 'runs (s)'];
const rows = tools.filter((t) => runs[t].length).map((t) => {
  const s = med(t, 'wall');
  return [t, s.toFixed(2), (N / s).toFixed(2), (outs[t].mp / s).toFixed(1), med(t, 'rssMB').toFixed(0), med(t, 'treeMB').toFixed(0),
    med(t, 'cpu').toFixed(2), Number.isFinite(baseS) ? `${(baseS / s).toFixed(2)}x` : 'n/a', runs[t].map((r) => r.wall.toFixed(2)).join(' ')];
});
const widths = cols.map((c, i) => Math.max(c.length, ...rows.map((r) => r[i].length)));
const line = (r) => `| ${r.map((v, i) => (i === 0 || i === r.length - 1 ? v.padEnd(widths[i]) : v.padStart(widths[i]))).join(' | ')} |`;
console.log();
console.log(line(cols));
console.log(`|${widths.map((w, i) => (i === 0 || i === widths.length - 1 ? '-'.repeat(w + 2) : `${'-'.repeat(w + 1)}:`)).join('|')}|`);
for (const r of rows) console.log(line(r));
console.log();
console.log(`# seconds: median wall time of the whole process tree; out MP: pixels of the ${3 * N} files written, read back after the run.`);
console.log(`# peak RSS: GNU time's max RSS = largest single process (imgpipe: node under MALLOC_ARENA_MAX=1, as the bin's first line execs it in the same process);`);
console.log(`# tree RSS: sum of RSS over the tree's live processes, sampled every ${SAMPLE_MS} ms (imgpipe: shim + child). CPU s: user+sys.`);
console.log(`# vs sharp: throughput relative to the plain sharp script (its seconds / tool seconds; >1 = faster than plain sharp).`);

// imgpipe's targets: >= 1.25x the plain sharp script's throughput, <= 300 MB peak memory.
if (runs.imgpipe?.length && Number.isFinite(baseS)) {
  const ratio = baseS / med('imgpipe', 'wall');
  const rss = med('imgpipe', 'rssMB'), tree = med('imgpipe', 'treeMB');
  const ok = (b) => (b ? 'ok' : 'MISSED');
  console.log(`# imgpipe targets: throughput ${ratio.toFixed(2)}x plain sharp (>= 1.25x: ${ok(ratio >= 1.25)}); ` +
    `memory ${rss.toFixed(0)} MB largest process (<= 300: ${ok(rss <= 300)}), ${tree.toFixed(0)} MB whole tree (<= 300: ${ok(tree <= 300)})`);
}
if (!runs.imgpipe?.length && tools.includes('imgpipe')) process.exitCode = 1;

if (BENCH === 'all') {
  console.log();
  cleanup(); // the resize bench's temp files, before the upload bench starts
  for (const file of ['upload.mjs', 'presign.mjs']) {
    const status = runBench(file);
    if (status) process.exitCode = status;
  }
}
