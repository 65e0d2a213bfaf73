// Canary and A/B logic: pure functions of counts, sketches, plans and a clock value.
export * from './canary-settings.ts';
export * from './compare-arms.ts';
export * from './analyze-canary.ts';
export * from './deployment-plan.ts';
export * from './deployment-machine.ts';
export * from './ab-report.ts';
