import type { Command } from 'commander';
import { adminOf, JSON_HELP, printJson } from './admin-context.ts';
import { DeploymentFileError, readDeploymentFile } from './deployment-file.ts';
import { DecisionChanges } from './decision-changes.ts';
import {
  type DecisionRow,
  type DeploymentRow,
  formatDecision,
  formatDeployments,
  formatInstances,
  type PoolStatus,
} from './format.ts';
import { usageError } from './one-line-errors.ts';

const path = (name: string) => `/deployments/${encodeURIComponent(name)}`;

/** deploy, list, describe, delete: deployments through the admin API. */
export function addDeploymentCommands(program: Command): void {
  program
    .command('deploy')
    .description('create or replace the deployment a file declares (JSON or YAML)')
    .argument('<file>', 'a deployment: .json, .yaml or .yml (other names: JSON, else YAML)')
    .addHelpText(
      'after',
      `
Only name, kind and model are needed; scaling fields left out get their defaults (README: Deployments).

Example (tiny.yaml):
  name: tiny
  kind: generative
  model: { path: runtime/models/tiny }
  scaling: { minInstances: 1 }`,
    )
    .action(async (file: string, _o: unknown, cmd: Command) => {
      let spec: Record<string, unknown>;
      try {
        spec = await readDeploymentFile(file);
      } catch (e) {
        if (e instanceof DeploymentFileError) usageError(cmd, e.message);
        throw e;
      }
      if (typeof spec.name !== 'string' || spec.name === '')
        usageError(cmd, `${file} has no name: add "name: <deployment name>"`);
      const { status } = await adminOf(cmd).exchange('PUT', path(spec.name), spec);
      console.log(`deployed ${spec.name} (${status === 201 ? 'created' : 'replaced'})`);
    });

  program
    .command('list')
    .description('the deployments, with their models and scaling bounds')
    .option('--json', JSON_HELP)
    .action(async (o: { json?: boolean }, cmd: Command) => {
      const r = await adminOf(cmd).get<{ deployments: DeploymentRow[] }>('/deployments');
      if (o.json) printJson(r);
      else console.log(formatDeployments(r.deployments));
    });

  program
    .command('describe')
    .description('one deployment: its spec, its instances and the decisions that changed its pool')
    .argument('<name>', 'the deployment')
    .option('--json', `${JSON_HELP} (the deployment's spec)`)
    .action(async (name: string, o: { json?: boolean }, cmd: Command) => {
      const admin = adminOf(cmd);
      const spec = await admin.get<unknown>(path(name));
      if (o.json) return printJson(spec);
      console.log(JSON.stringify(spec, null, 2));
      const { pools } = await admin.get<{ pools: PoolStatus[] }>('/instances');
      console.log(formatInstances(pools.filter((p) => p.deployment === name)));
      const q = `/decisions?deployment=${encodeURIComponent(name)}`;
      const { decisions } = await admin.get<{ decisions: DecisionRow[] }>(q);
      for (const d of new DecisionChanges().next(decisions).slice(-5)) console.log(formatDecision(d));
    });

  program
    .command('delete')
    .description('delete a deployment; its instances drain and stop')
    .argument('<name>', 'the deployment')
    .action(async (name: string, _o: unknown, cmd: Command) => {
      await adminOf(cmd).call('DELETE', path(name));
      console.log(`deleted ${name}`);
    });
}
