import { Upstream } from './upstream';

/** One line of the results table. */
export interface Row {
  scenario: string;
  metric: string;
  value: number;
  unit: string;
  /** What the value is compared with, measured in the same run. */
  baseline?: { label: string; value: number };
  /** value / baseline.value unless `ratioText` says otherwise. */
  ratio?: number;
  /** How the table shows the ratio, e.g. "412× faster". */
  ratioText?: string;
  target?: string;
  pass?: boolean;
  note?: string;
}

export interface ScenarioOutput {
  rows: Row[];
  /** Everything else worth keeping in results.json. */
  details: Record<string, unknown>;
  notes: string[];
  /**
   * Checks of behaviour (not performance targets) that did not hold, one line each: the run
   * reports them and exits non-zero, keeping the scenario's figures.
   */
  failures?: string[];
}

export interface ScenarioContext {
  quick: boolean;
  upstream: Upstream;
  log: (message: string) => void;
  /** Figures one scenario leaves for another (e.g. the turn rate of 64 users). */
  shared: Record<string, number>;
}

export interface Scenario {
  name: string;
  title: string;
  run(ctx: ScenarioContext): Promise<ScenarioOutput>;
}

export const round = (x: number, digits = 1): number =>
  Number.isFinite(x) ? Number(x.toFixed(digits)) : x;
