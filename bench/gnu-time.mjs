// What GNU time -v reports of a process, for the benches that run tools under /usr/bin/time.

/** CPU seconds (user + system) and peak RSS (MB) from a `/usr/bin/time -v` report; NaN where missing. */
export function gnuTime(report) {
  const num = (re) => Number(re.exec(report)?.[1] ?? NaN);
  return {
    cpu: num(/User time \(seconds\): ([\d.]+)/) + num(/System time \(seconds\): ([\d.]+)/),
    rssMB: num(/Maximum resident set size \(kbytes\): (\d+)/) / 1024,
  };
}
