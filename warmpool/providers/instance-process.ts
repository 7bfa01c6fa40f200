import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { INSTANCE_MAIN_ARGS } from '../../runtime/instance/launch.ts';
import { PARENT_PID_ENV } from '../../runtime/instance/parent-watch.ts';
import { InstanceLog } from './instance-log.ts';
import { OutputTail } from './output-tail.ts';
import type { InstanceExit } from './provider.ts';

/** A runtime process on this host: spawned here, or adopted from a provider that is gone. */
export interface InstanceProcess {
  readonly pid: number | undefined;
  kill(signal: NodeJS.Signals): void;
  readonly exited: Promise<InstanceExit>;
  /** Set when the process has ended (with the last of its stderr when it was spawned here). */
  readonly exit: InstanceExit | undefined;
  /** Its recent output lines; only for a process spawned here (an adopted one writes elsewhere). */
  readonly log?: InstanceLog;
}

/**
 * Spawns runtime/instance/main with `args`, keeping the tail of its stderr for the exit's reason and
 * its recent stdout and stderr lines for `warmgate logs`.
 */
export function spawnInstanceProcess(args: readonly string[], env: NodeJS.ProcessEnv): InstanceProcess {
  const child = spawn(process.execPath, [...INSTANCE_MAIN_ARGS, ...args], {
    // Both read at once, always: an unread pipe would fill and block the instance's writes.
    stdio: ['ignore', 'pipe', 'pipe'],
    // Names this process as the parent: one that dies while the child still imports is seen all the same.
    env: { ...env, [PARENT_PID_ENV]: String(process.pid) },
  });
  const stderr = new OutputTail();
  const log = new InstanceLog();
  child.stdout!.on('data', (c: Buffer) => log.push('stdout', c));
  child.stderr!.on('data', (c: Buffer) => {
    stderr.push(c);
    log.push('stderr', c);
  });
  child.once('error', (e) => {
    stderr.push(`spawn failed: ${e.message}\n`);
    log.push('stderr', `spawn failed: ${e.message}\n`);
  });
  let exit: InstanceExit | undefined;
  // 'close' comes after stdout and stderr have ended, so the tail and the log are complete.
  const exited = new Promise<InstanceExit>((resolve) =>
    child.once('close', (code, signal) => {
      log.end();
      resolve((exit = { code, signal, stderrTail: stderr.toString() }));
    }),
  );
  return {
    pid: child.pid,
    kill: (signal) => void child.kill(signal),
    exited,
    get exit() {
      return exit;
    },
    log,
  };
}

/** Whether a process with this id exists (signal 0 checks without sending anything). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Whether `pid` is a runtime instance process listening on `port`, read from /proc/<pid>/cmdline (an
 * instance, or a standby assigned a model, is started with `--port <port>`). A reused pid belongs to
 * some other command line. Undefined where there is no /proc to read (then the caller cannot tell).
 */
export function isInstanceProcess(pid: number, port: string): boolean | undefined {
  let cmdline: string;
  try {
    cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return code === 'ENOENT' && existsSync('/proc/self/cmdline') ? false : undefined;
  }
  const args = cmdline.split('\0');
  const main = INSTANCE_MAIN_ARGS.at(-1)!;
  return args.includes(main) && args.some((a, i) => a === '--port' && args[i + 1] === port);
}

/**
 * A process this provider did not spawn (its parent, a controller that is gone, started it): not our
 * child, so its end is seen by polling, and its exit status and output are unknown.
 */
export function adoptProcess(pid: number, pollMs = 200): InstanceProcess {
  let exit: InstanceExit | undefined;
  const exited = new Promise<InstanceExit>((resolve) => {
    const timer = setInterval(() => {
      if (processAlive(pid)) return;
      clearInterval(timer);
      resolve((exit = { code: null, signal: null, stderrTail: 'adopted instance process ended\n' }));
    }, pollMs);
    timer.unref();
  });
  return {
    pid,
    kill: (signal) => {
      try {
        process.kill(pid, signal);
      } catch {
        // already gone
      }
    },
    exited,
    get exit() {
      return exit;
    },
  };
}
