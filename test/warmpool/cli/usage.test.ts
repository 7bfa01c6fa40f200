// The command line as a new user tries it: help, version, and one-line answers to bad usage. No gateway
// runs here, except where a refusal needs one (the admin API's, on a closed port).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import type { Command } from 'commander';
import { freePort } from '../../../runtime/instance/launch.ts';
import { buildProgram } from '../../../warmpool/cli/program.ts';
import { commandPath } from '../../../warmpool/cli/one-line-errors.ts';

const CLI = new URL('../../../warmpool/cli/main.ts', import.meta.url).pathname;
const VERSION = (
  JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

/** Runs the CLI as an operator does; resolves with its exit status and output, whatever the status. */
async function warmgate(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const env = { ...process.env, WARMGATE_URL: await nobody, WARMGATE_ADMIN_TOKEN: '' };
  try {
    const r = await promisify(execFile)(process.execPath, ['--import', 'tsx', CLI, ...args], { env });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const x = e as { code: number; stdout: string; stderr: string };
    return { code: x.code, stdout: x.stdout, stderr: x.stderr };
  }
}

/** A loopback port nothing listens on. */
const nobody = freePort().then((port) => `http://127.0.0.1:${port}`);

function allCommands(c: Command): Command[] {
  return [c, ...c.commands.flatMap(allCommands)];
}

describe('warmgate usage', { timeout: 120_000 }, () => {
  it('--help, help and help COMMAND print the usage on stdout and exit 0', async () => {
    const top = await warmgate('--help');
    assert.equal(top.code, 0);
    assert.equal(top.stderr, '');
    assert.match(top.stdout, /^Usage: warmgate \[options\] \[command\]/);
    for (const cmd of [
      'deploy',
      'list',
      'describe',
      'delete',
      'instances',
      'logs',
      'decisions',
      'keys',
      'import',
      'help',
    ])
      assert.match(top.stdout, new RegExp(`^  ${cmd} `, 'm'), `${cmd} listed`);
    assert.deepEqual(await warmgate('help'), top);

    const create = await warmgate('help', 'keys', 'create');
    assert.equal(create.code, 0);
    assert.match(create.stdout, /^Usage: warmgate keys create \[options\] <name>/);
    assert.match(create.stdout, /--tokens-per-minute <n>/);
    assert.deepEqual(await warmgate('keys', 'help', 'create'), create);
    assert.deepEqual(await warmgate('keys', 'create', '--help'), create);
  });

  it('every command answers --help with its own usage', async () => {
    for (const cmd of allCommands(buildProgram())) {
      const path = commandPath(cmd);
      const program = buildProgram();
      let out = '';
      for (const c of allCommands(program)) c.configureOutput({ writeOut: (s) => (out += s) });
      const args = [...path.split(' ').slice(1), '--help'];
      await assert.rejects(program.parseAsync(args, { from: 'user' }), {
        exitCode: 0,
        code: 'commander.helpDisplayed',
      });
      assert.match(out, new RegExp(`^Usage: ${path}\\b`), path);
      assert.ok(cmd.description().length > 0, `${path} says what it does`);
    }
  });

  it('--version prints the version of package.json', async () => {
    assert.deepEqual(await warmgate('--version'), { code: 0, stdout: `${VERSION}\n`, stderr: '' });
  });

  const bad: [string, string[], RegExp][] = [
    [
      'an unknown option',
      ['list', '--jsn'],
      /^warmgate: unknown option '--jsn' \(did you mean --json\?\); see 'warmgate list --help'$/,
    ],
    [
      'an unknown command',
      ['lst'],
      /^warmgate: unknown command 'lst' \(did you mean list\?\); see 'warmgate --help'$/,
    ],
    [
      'help for an unknown command',
      ['help', 'keys', 'rotate'],
      /^warmgate: unknown command 'keys rotate'; see 'warmgate --help'$/,
    ],
    [
      'a missing argument',
      ['describe'],
      /^warmgate: missing required argument 'name'; see 'warmgate describe --help'$/,
    ],
    [
      'an argument too many',
      ['list', 'tiny'],
      /^warmgate: too many arguments for 'list'.*; see 'warmgate list --help'$/,
    ],
    [
      'a value that is no number',
      ['logs', 'tiny', '--lines', 'ten'],
      /^warmgate: option '-n, --lines <n>' argument 'ten' is invalid.*; see 'warmgate logs --help'$/,
    ],
    [
      'a deployment file that is not there',
      ['deploy', '/nonexistent/tiny.yaml'],
      /^warmgate: cannot read \/nonexistent\/tiny\.yaml: no such file; see 'warmgate deploy --help'$/,
    ],
  ];
  for (const [what, args, said] of bad) {
    it(`${what} is answered in one line on stderr, exit 2`, async () => {
      const r = await warmgate(...args);
      assert.equal(r.code, 2, r.stderr);
      assert.equal(r.stdout, '');
      assert.equal(r.stderr.split('\n').length, 2, `one line: ${r.stderr}`);
      assert.match(r.stderr.trimEnd(), said);
    });
  }

  it('no gateway to reach: one line naming the URL and the way to point at one, exit 1', async () => {
    const r = await warmgate('list');
    assert.equal(r.code, 1);
    assert.equal(
      r.stderr,
      `warmgate: cannot reach the gateway at ${await nobody} (ECONNREFUSED); start it, or point --url (WARMGATE_URL) at it\n`,
    );
  });

  it('completion prints a bash script that completes commands and options word by word', async () => {
    const script = await warmgate('completion');
    assert.equal(script.code, 0);
    /** What bash offers for the words typed, the last one being completed. */
    const offered = async (...words: string[]) => {
      const line = words.map((w) => `'${w}'`).join(' ');
      const r = await promisify(execFile)('bash', [
        '-c',
        `source /dev/stdin <<'EOF'\n${script.stdout}\nEOF\nCOMP_WORDS=(warmgate ${line}); COMP_CWORD=${words.length}; _warmgate; echo "\${COMPREPLY[*]}"`,
      ]);
      return r.stdout.trim();
    };
    assert.equal(await offered('ke'), 'keys');
    assert.equal(await offered('keys', 'cr'), 'create');
    assert.equal(
      await offered('keys', 'create', 'bot', '--tokens-per-'),
      '--tokens-per-minute --tokens-per-day',
    );
    assert.equal(await offered('--url', 'http://h:1', 'decisions', 'tiny', '--f'), '--follow');
    assert.equal(await offered('list', '--'), '--json --help');
  });
});
