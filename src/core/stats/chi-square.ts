// Pearson's chi-square test of homogeneity for two samples binned the same way (2×k table) —
// scipy.stats.chi2_contingency(table, correction=False). Used as the significance gate of the
// drift detector: PSI and JS distance have no sampling distribution of their own and are biased
// upwards at small n (mean PSI ≈ 0.09 for two samples of 200 from one distribution, so a 0.1
// threshold alone fires ~37% of the time); requiring the binned counts to differ significantly
// as well keeps false alarms at ≤ α whatever the sample size.
import { chiSquareSf } from './distributions.ts';

export interface ChiSquareResult {
  statistic: number;
  degreesOfFreedom: number;
  pValue: number;
}

export function chiSquareHomogeneity(countsA: readonly number[], countsB: readonly number[]): ChiSquareResult {
  if (countsA.length !== countsB.length) throw new RangeError('count arrays must have the same length');
  const totalA = countsA.reduce((a, b) => a + b, 0);
  const totalB = countsB.reduce((a, b) => a + b, 0);
  if (!(totalA > 0) || !(totalB > 0)) throw new RangeError('both samples must be non-empty');
  const total = totalA + totalB;
  let statistic = 0;
  let columns = 0;
  for (let i = 0; i < countsA.length; i++) {
    const column = countsA[i] + countsB[i];
    if (column === 0) continue; // an empty bin carries no information (and no degree of freedom)
    columns++;
    const expectedA = (totalA * column) / total;
    const expectedB = (totalB * column) / total;
    statistic += (countsA[i] - expectedA) ** 2 / expectedA + (countsB[i] - expectedB) ** 2 / expectedB;
  }
  const degreesOfFreedom = Math.max(0, columns - 1);
  const pValue = degreesOfFreedom === 0 ? 1 : chiSquareSf(statistic, degreesOfFreedom);
  return { statistic, degreesOfFreedom, pValue };
}
