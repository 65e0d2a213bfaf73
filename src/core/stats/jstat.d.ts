// jstat ships no type declarations; only the functions wrapped in distributions.ts are declared.
declare module 'jstat' {
  interface ContinuousDistribution {
    cdf(x: number, ...params: number[]): number;
    pdf(x: number, ...params: number[]): number;
    inv(p: number, ...params: number[]): number;
  }
  interface JStat {
    normal: ContinuousDistribution;
    chisquare: ContinuousDistribution;
    studentt: ContinuousDistribution;
    beta: ContinuousDistribution;
    erfc(x: number): number;
    gammaln(x: number): number;
    betaln(a: number, b: number): number;
    ibeta(x: number, a: number, b: number): number;
    lowRegGamma(a: number, x: number): number;
  }
  const jStat: JStat;
  export default jStat;
}
