/* global process, fetch, AbortSignal */
// Docker HEALTHCHECK of the warmgate image: GET /live of the process this container runs. Its port is
// --port when the command has one (runtime instances), else PORT, else that process's default.
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

/** The defaults of PORT in the environment schemas (test/infra checks them against the code). */
export const DEFAULT_PORTS = { gateway: 8080, controller: 8081, runtime: 8080 };
export const LIVE_PATH = '/live';

/** Which component a command line runs. */
export function componentOf(argv) {
  const script = argv.find((a) => /dist\/.+\/main\.js$/.test(a)) ?? '';
  if (script.endsWith('dist/warmpool/main.js')) return 'controller';
  if (script.endsWith('dist/runtime/instance/main.js')) return 'runtime';
  return 'gateway';
}

/** The URL to probe for a command line and an environment. */
export function liveUrl(argv, env) {
  const i = argv.indexOf('--port');
  const flag = i >= 0 ? argv[i + 1] : argv.find((a) => a.startsWith('--port='))?.slice('--port='.length);
  const port = flag || env.PORT || DEFAULT_PORTS[componentOf(argv)];
  return `http://127.0.0.1:${port}${LIVE_PATH}`;
}

/** The container's command line: PID 1's (under `docker run --init`, the init's holds it too). */
function mainCommandLine() {
  try {
    return readFileSync('/proc/1/cmdline', 'utf8').split('\0').filter(Boolean);
  } catch {
    return [];
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const url = liveUrl(mainCommandLine(), process.env);
  fetch(url, { signal: AbortSignal.timeout(2500) }).then(
    (r) => process.exit(r.ok ? 0 : 1),
    () => process.exit(1),
  );
}
