import { type Command, InvalidArgumentError } from 'commander';
import { AdminApiError, type AdminClient } from './admin-client.ts';
import { adminOf, FOLLOW_INTERVAL_MS, JSON_HELP, printJson, sleep } from './admin-context.ts';
import { formatInstances, formatLogLine, type InstanceLogs, type PoolStatus } from './format.ts';

interface LogsOptions {
  lines?: number;
  follow?: boolean;
  timestamps?: boolean;
  json?: boolean;
}

const wholeNumber = (v: string): number => {
  if (!/^[1-9]\d{0,5}$/.test(v)) throw new InvalidArgumentError('expected a whole number from 1 to 999999');
  return Number(v);
};

/** instances, logs: what the warm-pool controller runs. */
export function addInstanceCommands(program: Command): void {
  program
    .command('instances')
    .description('instances with their states and cold-start times')
    .argument('[name]', 'only this deployment')
    .option('--json', `${JSON_HELP} (with NAME, only its pool)`)
    .action(async (name: string | undefined, o: { json?: boolean }, cmd: Command) => {
      const r = await adminOf(cmd).get<{ pools: PoolStatus[] }>('/instances');
      const pools = name === undefined ? r.pools : r.pools.filter((p) => p.deployment === name);
      if (o.json) printJson({ ...r, pools });
      else console.log(formatInstances(pools));
    });

  program
    .command('logs')
    .description("an instance's recent output lines (stdout and stderr), kept by the controller")
    .argument('<name>', 'a deployment (all its instances) or an instance id (see warmgate instances)')
    .option(
      '-n, --lines <n>',
      'the last N lines of each instance (default: all kept, up to 500)',
      wholeNumber,
    )
    .option('-f, --follow', 'keep printing new lines as instances write them')
    .option('-t, --timestamps', 'begin each line with when it was read')
    .option('--json', `${JSON_HELP}: a list, one answer per instance`)
    .action(async (name: string, o: LogsOptions, cmd: Command) => {
      const admin = adminOf(cmd);
      const lastSeq = new Map<string, number>();
      for (;;) {
        const { ids, deployment } = await instancesNamed(admin, name);
        // --lines bounds the first read; after it, every line kept that is new.
        const answers = await Promise.all(
          ids.map((id) => readLogs(admin, id, lastSeq.has(id) ? undefined : o.lines)),
        );
        const found = answers.filter((a): a is InstanceLogs => a !== undefined);
        if (found.length === 0 && !o.follow) {
          if (!deployment)
            throw new Error(`no deployment or instance named '${name}'; see 'warmgate instances'`);
          console.error(`warmgate: ${name} has no instances now`);
        }
        if (o.json && !o.follow) return printJson(found);
        for (const a of found) {
          if (!a.kept && !lastSeq.has(a.instance))
            console.error(`warmgate: the provider keeps no output of ${a.instance} (pods: kubectl logs)`);
          const seen = lastSeq.get(a.instance) ?? 0;
          for (const line of a.lines.filter((l) => l.seq > seen)) {
            const prefix = ids.length > 1 ? `[${a.instance}] ` : '';
            console.log(
              o.json ? JSON.stringify({ instance: a.instance, ...line }) : prefix + formatLogLine(line, o),
            );
          }
          lastSeq.set(a.instance, Math.max(seen, ...a.lines.map((l) => l.seq)));
        }
        if (!o.follow) return;
        await sleep(FOLLOW_INTERVAL_MS);
      }
    });
}

/** The instances of deployment `name`, or `name` itself taken as an instance id (one that ended, too). */
async function instancesNamed(
  admin: AdminClient,
  name: string,
): Promise<{ ids: string[]; deployment: boolean }> {
  const { pools } = await admin.get<{ pools: PoolStatus[] }>('/instances');
  const pool = pools.find((p) => p.deployment === name);
  return pool
    ? { ids: pool.instances.map((i) => i.id), deployment: true }
    : { ids: [name], deployment: false };
}

async function readLogs(admin: AdminClient, id: string, lines?: number): Promise<InstanceLogs | undefined> {
  const q = lines === undefined ? '' : `?lines=${lines}`;
  try {
    return await admin.get<InstanceLogs>(`/instances/${encodeURIComponent(id)}/logs${q}`);
  } catch (e) {
    // An instance that went away between the two reads, or a name that is no instance.
    if (e instanceof AdminApiError && e.code === 'instance_not_found') return undefined;
    throw e;
  }
}
