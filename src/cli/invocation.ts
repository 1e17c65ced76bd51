// How the person at the terminal runs imgpipe, for the commands we print them: `imgpipe` when
// their shell finds one on PATH, else `npx imgpipe` (a project dependency, not installed
// globally). npm and npx put node_modules/.bin first on PATH for the run they start, not for the
// shell the person types into, so those folders do not count.
import { accessSync, constants, statSync } from 'node:fs';
import path from 'node:path';

const NPM_BIN = `${path.sep}node_modules${path.sep}.bin`;

function executable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return statSync(file).isFile();
  } catch {
    return false;
  }
}

export function cliName(env: NodeJS.ProcessEnv = process.env): string {
  const names = process.platform === 'win32' ? ['imgpipe.cmd', 'imgpipe.exe'] : ['imgpipe'];
  const dirs = (env.PATH ?? '').split(path.delimiter).filter((d) => d && !path.resolve(d).endsWith(NPM_BIN));
  return dirs.some((d) => names.some((n) => executable(path.join(d, n)))) ? 'imgpipe' : 'npx imgpipe';
}
