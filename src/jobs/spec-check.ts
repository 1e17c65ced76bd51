// One variant spec end to end: the CLI waits for what the pipeline makes. When the user chose a
// spec (flags or config) that the pipeline does not run, that is an error before anything is sent,
// not a wait for keys that will never exist; when they chose none, the pipeline's is used.
import { fetchSpec } from '../api/client.js';
import { UsageError } from '../core/errors.js';
import { parseSpec, specHash, type Spec } from '../core/spec.js';

function describeSpec(spec: Spec): string {
  return spec.variants.map((v) => `${v.name} (${[v.width, v.height].filter(Boolean).join('×') || 'any'} ${v.format}${v.format === 'png' ? '' : ` q${v.quality}`})`).join(', ');
}

export async function agreeOnSpec(opts: { api?: string; apiKey?: string; spec: Spec; specGiven: boolean; signal?: AbortSignal }): Promise<Spec> {
  if (!opts.api) return opts.spec;
  const answer = await fetchSpec({ api: opts.api, apiKey: opts.apiKey, signal: opts.signal });
  if (!answer) return opts.spec; // the API does not say: nothing to compare with
  if (answer.specHash === specHash(opts.spec)) return opts.spec;
  const theirs = parseSpec(answer.spec, 'the pipeline\'s spec');
  if (!opts.specGiven) return theirs;
  throw new UsageError(
    `the pipeline makes ${describeSpec(theirs)}, but you asked for ${describeSpec(opts.spec)}: ` +
      'drop the spec flags (or the config file\'s variants) to use the pipeline\'s, or run the pipeline with yours (imgpipe dev --widths …, or deploy with that spec)',
  );
}
