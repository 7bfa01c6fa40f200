import { type Command, Option } from 'commander';

interface ImportOptions {
  out: string;
  name?: string;
  dtype: string;
  blockSize: string;
  force?: boolean;
  json?: boolean;
}

/**
 * import: works on folders, not on a gateway. The options are checked here (for help and one-line
 * errors) and handed on to runtime/model/import's runImport, which does the work.
 */
export function addImportCommand(program: Command): void {
  program
    .command('import')
    .description('a Hugging Face model folder -> a warmgate model folder (no gateway needed)')
    .argument('<dir>', 'the Hugging Face model folder (config.json, *.safetensors, tokenizer.json)')
    .requiredOption('-o, --out <dir>', 'the warmgate model folder to write')
    .option('--name <name>', "the model's name (default: the folder's)")
    .addOption(
      new Option('--dtype <dtype>', 'weights as').choices(['float32', 'float16', 'int4']).default('float32'),
    )
    .addOption(new Option('--block-size <n>', 'int4 quantization block').choices(['32', '64']).default('32'))
    .option('--force', 'replace --out if it exists')
    .option('--json', 'print the result as JSON')
    .action(async (dir: string, o: ImportOptions) => {
      const { runImport } = await import('../../runtime/model/import/main.ts');
      process.exitCode = await runImport([
        dir,
        '--out',
        o.out,
        ...(o.name !== undefined ? ['--name', o.name] : []),
        '--dtype',
        o.dtype,
        '--block-size',
        o.blockSize,
        ...(o.force ? ['--force'] : []),
        ...(o.json ? ['--json'] : []),
      ]);
    });
}
