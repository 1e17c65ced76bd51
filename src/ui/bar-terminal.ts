// cli-progress's own terminal (its cursor, line and clear escapes), with two of its habits undone
// for a bar that shares the screen with other lines:
// - it saves the cursor when a bar starts and restores it when the bar stops: once an error line
//   has been printed over the bar (Reporter.error), the restore jumps back onto that line, clears
//   it and leaves the bar's last frame on screen below;
// - it trims each frame to the terminal's width in UTF-16 units (String#substr), which cuts a
//   line that fits into its columns (a decomposed "é" is two units in one column, as macOS
//   writes file names): layoutBar fits it by columns already.
// Not in the package's index, but the file the bar builds its terminal from by default; the
// `terminal` option takes an instance.
import Terminal from 'cli-progress/lib/terminal.js';

export class BarTerminal extends Terminal {
  override cursorSave(): void {}

  override cursorRestore(): void {}

  override write(s: string): void {
    this.stream.write(s);
  }
}
