import { readFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';

/** The machine in words, for the report: cores, CPU model, memory, Node. */
export function describeMachine(): string {
  const list = cpus();
  let model = list[0]?.model?.trim() ?? '';
  if (!model || model === 'unknown') {
    try {
      model = /model name\s*:\s*(.+)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1]?.trim() ?? '';
    } catch {
      model = '';
    }
  }
  const gib = Math.round(totalmem() / 2 ** 30);
  return `${list.length} cores (${model || 'CPU model not reported'}), ${gib} GiB, Node ${process.versions.node}, ${process.platform}/${process.arch}`;
}
