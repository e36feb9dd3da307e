import { rateWindow } from './cadence.ts';

/**
 * PromQL building blocks for the panels. The window of `rate()` and `increase()` comes from the metric's
 * cadence in the catalog (see `cadence.ts`), so no panel averages a 300 s counter over one minute.
 */

/** `metric{selector}`. */
export function series(metric: string, selector: string): string {
  return `${metric}{${selector}}`;
}

/** `rate(metric{selector}[window])`, the window fitting the metric's cadence. */
export function rate(metric: string, selector: string): string {
  return `rate(${series(metric, selector)}[${rateWindow(metric)}])`;
}

/** `increase(metric{selector}[window])`, the window fitting the metric's cadence. */
export function increase(metric: string, selector: string): string {
  return `increase(${series(metric, selector)}[${rateWindow(metric)}])`;
}
