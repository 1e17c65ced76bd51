// A random access key and secret per data folder, made on first start and kept (mode 0600) beside
// the data, so no two stacks share a credential and no fixed public pair opens any of them.
import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import path from 'node:path';

export interface Credentials {
  accessKeyId: string;
  secretAccessKey: string;
}

export const CREDENTIALS_FILE = 'credentials.json';

function generate(): Credentials {
  return {
    accessKeyId: 'LOCAL' + randomBytes(10).toString('hex').toUpperCase().slice(0, 15),
    secretAccessKey: randomBytes(30).toString('base64url'),
  };
}

function valid(c: unknown): c is Credentials {
  const x = c as Credentials;
  return typeof x?.accessKeyId === 'string' && typeof x.secretAccessKey === 'string' && x.accessKeyId.length >= 16 && x.secretAccessKey.length >= 32;
}

/** The folder's credentials, created atomically (exclusive create) the first time. */
export async function folderCredentials(dataDir: string): Promise<Credentials> {
  const file = path.join(dataDir, CREDENTIALS_FILE);
  await fsp.mkdir(dataDir, { recursive: true, mode: 0o700 });
  try {
    const c = JSON.parse(await fsp.readFile(file, 'utf8')) as unknown;
    if (valid(c)) return c;
    throw new Error(`${file}: not a credentials file; delete it to make new credentials`);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const c = generate();
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}`;
  await fsp.writeFile(tmp, JSON.stringify(c, null, 2), { mode: 0o600, flag: 'wx' });
  try {
    await fsp.link(tmp, file); // fails if another process made it first: then use theirs
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  } finally {
    await fsp.rm(tmp, { force: true });
  }
  return folderCredentials(dataDir);
}

/** Read the folder's credentials without creating them (clients of a stack). */
export async function readFolderCredentials(dataDir: string): Promise<Credentials | undefined> {
  try {
    const c = JSON.parse(await fsp.readFile(path.join(dataDir, CREDENTIALS_FILE), 'utf8')) as unknown;
    return valid(c) ? c : undefined;
  } catch {
    return undefined;
  }
}
