/**
 * Time windows of the load phases (monotonic clock, µs: the clock V8's CPU profiles use), so that
 * `bench/profile.ts --phase=turn` can keep only the samples taken while turns were running.
 */
export interface Phase {
  label: string;
  startUs: number;
  endUs: number;
}

export const phases: Phase[] = [];

const nowUs = (): number => Number(process.hrtime.bigint() / 1000n);

export async function phase<T>(label: string, work: () => Promise<T>): Promise<T> {
  const startUs = nowUs();
  try {
    return await work();
  } finally {
    phases.push({ label, startUs, endUs: nowUs() });
  }
}
