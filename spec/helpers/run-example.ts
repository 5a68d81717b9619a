// Runs an example script the way a user would: `node examples/with-gearmand.mjs <file>` starts a
// private gearmand for it (so examples that share task names never see each other's jobs).
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));

export interface ExampleRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function runExample(file: string, env: Record<string, string> = {}, timeoutMs = 20_000): Promise<ExampleRun> {
  const childEnv: NodeJS.ProcessEnv = { ...process.env, ...env };
  if (!('GEARMAN_SERVERS' in env)) delete childEnv.GEARMAN_SERVERS;
  return new Promise((resolve) => {
    execFile(process.execPath, ['examples/with-gearmand.mjs', file], { cwd: root, env: childEnv, timeout: timeoutMs }, (error, stdout, stderr) => {
      resolve({ code: error ? ((error as { code?: number }).code ?? null) : 0, stdout, stderr });
    });
  });
}
