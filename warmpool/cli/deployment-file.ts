import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { parse as parseYaml } from 'yaml';

/** Why a deployment file could not be used; the message names the file and what to fix. */
export class DeploymentFileError extends Error {}

/**
 * A deployment file's content as the admin API takes it: JSON (.json), or YAML (.yaml, .yml, or any
 * other file whose content is not JSON). YAML 1.2, so `1_000` is a string, as in JSON it is refused.
 */
export async function readDeploymentFile(file: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new DeploymentFileError(
      `cannot read ${file}${code === 'ENOENT' ? ': no such file' : ` (${code})`}`,
    );
  }
  const value = parseDeployment(file, text);
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new DeploymentFileError(`${file} must hold one deployment (an object with name, kind, model)`);
  return value as Record<string, unknown>;
}

function parseDeployment(file: string, text: string): unknown {
  const ext = extname(file).toLowerCase();
  const yaml = ext === '.yaml' || ext === '.yml';
  if (!yaml) {
    try {
      return JSON.parse(text) as unknown;
    } catch (e) {
      if (ext === '.json')
        throw new DeploymentFileError(`${file} is not valid JSON: ${(e as Error).message}`);
    }
  }
  try {
    return parseYaml(text) as unknown;
  } catch (e) {
    // The first line says where; the rest is a snippet of the file.
    const where = (e as Error).message.split('\n')[0]!.replace(/:$/, '');
    throw new DeploymentFileError(`${file} is not valid ${yaml ? 'YAML' : 'JSON or YAML'}: ${where}`);
  }
}
