import { runCli } from './program.ts';

export async function main(): Promise<void> {
  const code = await runCli(process.argv.slice(2), {
    env: process.env,
    stdout: (s) => process.stdout.write(s),
    stderr: (s) => process.stderr.write(s),
  });
  // `serve` and `demo` keep the process alive through their servers; everything else ends here.
  if (code !== 0) process.exit(code);
}
