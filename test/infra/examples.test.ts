/**
 * The example root modules and the docs against the module: every argument an example passes is a
 * variable of the module (with the same type where it passes its own variable through), every required
 * one is passed, terraform.tfvars.example sets only declared variables and every required one, the
 * outputs are wired, and infra/README.md documents every variable. Plus `terraform fmt -check`.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { before, describe, it } from 'node:test';
import { loadModule, parseHcl, type TerraformModule } from './terraform.ts';

const MODULE = 'infra/modules/warmgate';
const EXAMPLES = 'infra/examples';
/** Module block arguments that are Terraform's, not the module's variables. */
const META = new Set(['source', 'version', 'providers', 'depends_on', 'count', 'for_each']);

let module: TerraformModule;
before(async () => {
  module = await loadModule(MODULE);
});

const normalize = (t: unknown) => String(t).replace(/\s+/g, ' ').trim();

for (const name of readdirSync(EXAMPLES)) {
  const dir = join(EXAMPLES, name);
  describe(`example ${name}`, () => {
    let root: TerraformModule;
    before(async () => {
      root = await loadModule(dir);
    });

    it('has a README and a terraform.tfvars.example', () => {
      assert.ok(existsSync(join(dir, 'README.md')));
      assert.ok(existsSync(join(dir, 'terraform.tfvars.example')));
    });

    it('calls the module with its variables only, and every required one', () => {
      const call = root.modules['warmgate'];
      assert.ok(call, 'a module "warmgate" block');
      assert.equal(resolve(dir, String(call['source'])), resolve(MODULE), 'source is infra/modules/warmgate');
      const passed = Object.keys(call).filter((k) => !META.has(k));
      for (const arg of passed) assert.ok(arg in module.variables, `${arg} is not a variable of the module`);
      for (const [v, decl] of Object.entries(module.variables)) {
        if (!('default' in decl)) assert.ok(passed.includes(v), `required variable ${v} is not passed`);
      }
      // A root variable passed straight through has the module variable's type.
      for (const arg of passed) {
        const own: string | undefined = /^\$\{var\.([a-z0-9_]+)\}$/.exec(String(call[arg]))?.[1];
        if (!own || !root.variables[own]) continue;
        assert.equal(
          normalize(root.variables[own]['type']),
          normalize(module.variables[arg]!['type']),
          `var.${own} → ${arg}: types differ`,
        );
      }
    });

    it('sets only declared variables in terraform.tfvars.example, and every required one', async () => {
      const tfvars = await parseHcl(join(dir, 'terraform.tfvars.example'));
      for (const k of Object.keys(tfvars))
        assert.ok(k in root.variables, `${k} is not a variable of ${name}`);
      for (const [v, decl] of Object.entries(root.variables)) {
        if (!('default' in decl))
          assert.ok(v in tfvars, `required ${v} is missing from terraform.tfvars.example`);
      }
    });

    it('types and describes its variables, and outputs the gateway URL and the OTLP endpoint', () => {
      for (const [v, decl] of Object.entries(root.variables)) {
        assert.ok(decl['type'], `${v} has no type`);
        assert.ok(decl['description'], `${v} has no description`);
      }
      assert.equal(root.outputs['gateway_url']?.['value'], '${module.warmgate.gateway_url}');
      assert.equal(root.outputs['otlp_endpoint']?.['value'], '${module.warmgate.otlp_endpoint}');
      for (const out of ['gateway_url', 'otlp_endpoint']) {
        assert.ok(module.outputs[out], `the module outputs ${out}`);
      }
    });
  });
}

describe('infra/README.md', () => {
  const readme = readFileSync('infra/README.md', 'utf8');

  it('has the deploy section, and names every variable and output of the module', () => {
    assert.match(readme, /^## Deploy on Kubernetes with Terraform$/m);
    for (const v of Object.keys(module.variables)) assert.ok(readme.includes(`\`${v}\``), `variable ${v}`);
    for (const o of Object.keys(module.outputs)) assert.ok(readme.includes(`\`${o}\``), `output ${o}`);
  });
});

describe('terraform fmt', () => {
  const terraform = spawnSync('terraform', ['version'], { encoding: 'utf8' });
  it(
    'finds nothing to reformat under infra/',
    { skip: terraform.status !== 0 && 'terraform is not installed here (CI runs it)' },
    () => {
      const r = spawnSync('terraform', ['fmt', '-check', '-recursive', '-list=true', 'infra/'], {
        encoding: 'utf8',
      });
      assert.equal(r.status, 0, `terraform fmt would change: ${r.stdout}${r.stderr}`);
    },
  );
});
