import { parseArgs } from 'node:util';
import { DATA } from '../../../runtime/bench/data-files.ts';
import type { AdapterSetup } from '../adapters/run-arrangement.ts';
import { DEFAULT_TOKEN_MODEL } from '../trace/index.ts';

export const USAGE = `usage: npm run sim -- [--trace FILE] [--policy NAME|all|A,B] [--cold-start-ms N] [--slots N]
    [--tick-ms N] [--seed N] [--limit-functions N] [--max-instances N] [--knob name=value ...]
    [--durations FILE] [--service-ms N] [--prefill-ms-per-token N] [--decode-ms-per-token N]
    [--overhead-ms N] [--skip-invalid] [--sweep] [--workers N] [--json] [--report [DIR]]
    [--adapters-over-base N [--adapter-slots S] [--adapter-load-ms MS]]

  --adapters-over-base N   the trace's functions become N LoRA adapters of one base model (function i is
                           adapter i mod N); each policy runs twice: one pool per adapter, and one pool of
                           the base model scaled from the summed demand
  --adapter-slots S        adapters one base instance holds, LRU among those no request uses (default 8;
                           at least --slots)
  --adapter-load-ms MS     added before a request whose adapter is not on its instance (default 15)`;

/** Default report folder when --report is given without one. */
const DEFAULT_REPORT_DIR = 'sim-report';

export interface SimArgs {
  readonly trace: string;
  /** Policy names, or 'all'. */
  readonly policies: readonly string[] | 'all';
  readonly coldStartMs: number;
  readonly slots: number;
  readonly tickMs: number;
  readonly seed: number;
  readonly limitFunctions?: number;
  readonly maxInstances: number;
  readonly knobs: Readonly<Record<string, number>>;
  readonly durations?: string;
  readonly serviceMs: number;
  readonly prefillMsPerToken: number;
  readonly decodeMsPerToken: number;
  readonly overheadMs: number;
  readonly skipInvalid: boolean;
  readonly sweep: boolean;
  readonly workers: number;
  readonly json: boolean;
  readonly report?: string;
  /** Set by --adapters-over-base. */
  readonly adapters?: AdapterSetup;
}

/** A command line the simulator cannot run: the message says which flag, what it got and what it takes. */
export class ArgsError extends Error {
  override readonly name = 'ArgsError';
}

const DEFAULTS = {
  'cold-start-ms': '10000',
  // Each instance serves 8 requests at once: see README.md ("Slots") for why.
  slots: '8',
  // Knative's autoscaler period; a shorter one costs simulation time and changes little at minute-grain demand.
  'tick-ms': '2000',
  seed: '1',
  'max-instances': '10000',
  'service-ms': '1000',
  // A 7B model on one 24 GB GPU, ~8 sequences at once: see README.md ("Service times from tokens").
  'prefill-ms-per-token': String(DEFAULT_TOKEN_MODEL.prefillMsPerToken),
  'decode-ms-per-token': String(DEFAULT_TOKEN_MODEL.decodeMsPerToken),
  'overhead-ms': String(DEFAULT_TOKEN_MODEL.overheadMs),
  workers: '2',
  // As many adapters as an instance serves requests at once: none waits for an adapter slot (README.md).
  'adapter-slots': '8',
  // bench:lora's CPU figure for a rank-16 adapter of the demo model (files read and checked, 5-20 ms):
  // a stand-in until a measurement of the served model on its GPU replaces it.
  'adapter-load-ms': '15',
} as const;

export function parseSimArgs(argv: readonly string[]): SimArgs {
  // `--report` with no folder after it means the default folder.
  const args = [...argv];
  const r = args.indexOf('--report');
  if (r >= 0 && (r === args.length - 1 || args[r + 1]!.startsWith('--')))
    args.splice(r + 1, 0, DEFAULT_REPORT_DIR);
  let values;
  try {
    ({ values } = parseArgs({
      args,
      strict: true,
      allowPositionals: false,
      options: {
        // The Azure Functions 2019 sample shipped in data/ (its durations file lies beside it).
        trace: { type: 'string', default: DATA.azureFunctionsInvocations },
        policy: { type: 'string', default: 'all' },
        'cold-start-ms': { type: 'string', default: DEFAULTS['cold-start-ms'] },
        slots: { type: 'string', default: DEFAULTS.slots },
        'tick-ms': { type: 'string', default: DEFAULTS['tick-ms'] },
        seed: { type: 'string', default: DEFAULTS.seed },
        'limit-functions': { type: 'string' },
        'max-instances': { type: 'string', default: DEFAULTS['max-instances'] },
        knob: { type: 'string', multiple: true, default: [] },
        durations: { type: 'string' },
        'service-ms': { type: 'string', default: DEFAULTS['service-ms'] },
        'prefill-ms-per-token': { type: 'string', default: DEFAULTS['prefill-ms-per-token'] },
        'decode-ms-per-token': { type: 'string', default: DEFAULTS['decode-ms-per-token'] },
        'overhead-ms': { type: 'string', default: DEFAULTS['overhead-ms'] },
        'skip-invalid': { type: 'boolean', default: false },
        sweep: { type: 'boolean', default: false },
        workers: { type: 'string', default: DEFAULTS.workers },
        json: { type: 'boolean', default: false },
        report: { type: 'string' },
        'adapters-over-base': { type: 'string' },
        'adapter-slots': { type: 'string' },
        'adapter-load-ms': { type: 'string' },
        help: { type: 'boolean', default: false },
      },
    }));
  } catch (e) {
    throw new ArgsError((e as Error).message);
  }
  if (values.help) throw new ArgsError('help');
  if (!values.trace) throw new ArgsError('--trace takes a file name');
  const knobs: Record<string, number> = {};
  for (const kv of values.knob) {
    const m = /^([A-Za-z_][\w.]*)=(.+)$/.exec(kv);
    const v = m ? Number(m[2]) : NaN;
    if (!m || !Number.isFinite(v)) throw new ArgsError(`--knob takes name=number, got "${kv}"`);
    knobs[m[1]!] = v;
  }
  const slots = int('--slots', values.slots, 1, 100_000);
  const policies = values.policy === 'all' ? 'all' : values.policy.split(',').filter((p) => p !== '');
  if (policies !== 'all' && policies.length === 0) throw new ArgsError('--policy names no policy');
  return {
    trace: values.trace,
    policies,
    coldStartMs: int('--cold-start-ms', values['cold-start-ms'], 0, 3_600_000),
    slots,
    tickMs: int('--tick-ms', values['tick-ms'], 1, 3_600_000),
    seed: int('--seed', values.seed, 0, 2 ** 32 - 1),
    limitFunctions:
      values['limit-functions'] === undefined
        ? undefined
        : int('--limit-functions', values['limit-functions'], 1, 1e9),
    maxInstances: int('--max-instances', values['max-instances'], 1, 1e9),
    knobs,
    durations: values.durations,
    serviceMs: num('--service-ms', values['service-ms'], 0, 86_400_000),
    prefillMsPerToken: num('--prefill-ms-per-token', values['prefill-ms-per-token'], 0, 60_000),
    decodeMsPerToken: num('--decode-ms-per-token', values['decode-ms-per-token'], 0, 60_000),
    overheadMs: num('--overhead-ms', values['overhead-ms'], 0, 86_400_000),
    skipInvalid: values['skip-invalid'],
    sweep: values.sweep,
    workers: int('--workers', values.workers, 0, 256),
    json: values.json,
    report: values.report,
    adapters: adapterSetup(values, slots),
  };
}

/** The adapters mode's flags, undefined without --adapters-over-base (whose two companions need it). */
function adapterSetup(
  v: { 'adapters-over-base'?: string; 'adapter-slots'?: string; 'adapter-load-ms'?: string },
  slots: number,
): AdapterSetup | undefined {
  if (v['adapters-over-base'] === undefined) {
    for (const f of ['adapter-slots', 'adapter-load-ms'] as const)
      if (v[f] !== undefined) throw new ArgsError(`--${f} needs --adapters-over-base N`);
    return undefined;
  }
  const a = {
    count: int('--adapters-over-base', v['adapters-over-base'], 1, 1e9),
    slots: int('--adapter-slots', v['adapter-slots'] ?? DEFAULTS['adapter-slots'], 1, 100_000),
    loadMs: num('--adapter-load-ms', v['adapter-load-ms'] ?? DEFAULTS['adapter-load-ms'], 0, 3_600_000),
  };
  // Fewer would make a request wait for an adapter slot as well as a request slot: not modelled.
  if (a.slots < slots)
    throw new ArgsError(`--adapter-slots must be at least --slots (${slots}), got "${a.slots}"`);
  return a;
}

function num(flag: string, raw: string, min: number, max: number): number {
  const v = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(v) || v < min || v > max)
    throw new ArgsError(`${flag} must be a number in [${min}, ${max}], got "${raw}"`);
  return v;
}

function int(flag: string, raw: string, min: number, max: number): number {
  const v = num(flag, raw, min, max);
  if (!Number.isInteger(v))
    throw new ArgsError(`${flag} must be an integer in [${min}, ${max}], got "${raw}"`);
  return v;
}
