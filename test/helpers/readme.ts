// README's code blocks, read as a user reads them, so tests run exactly what it says.
import { readFile } from 'node:fs/promises';
import path from 'node:path';

export const ROOT = path.resolve(__dirname, '../..');

/** The lines of the first ```sh block under a `## heading`. */
export async function readmeBlock(heading: string): Promise<string[]> {
  const readme = await readFile(path.join(ROOT, 'README.md'), 'utf8');
  return readme.split(`## ${heading}`)[1].split('```sh')[1].split('```')[0].trim().split('\n');
}
