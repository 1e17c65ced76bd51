// cli-progress's terminal class (lib/terminal.js): the package's typings leave it out.
declare module 'cli-progress/lib/terminal.js' {
  export default class Terminal {
    constructor(stream: NodeJS.WritableStream);
    stream: NodeJS.WritableStream;
    cursorSave(): void;
    cursorRestore(): void;
    write(s: string, rawWrite?: boolean): void;
  }
}
