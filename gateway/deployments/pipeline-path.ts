/**
 * The JSON-path subset a pipeline's references are written in: `$.request` or `$.steps.<id>`, then
 * `.name` and `[index]` segments. Parsed once, at deploy time; read by walking plain objects (no eval).
 */
export interface PipelineRef {
  /** Where the path starts: the request's body, or a step's answer. */
  readonly from: { request: true } | { step: string };
  readonly path: readonly (string | number)[];
  /** As written, for messages. */
  readonly text: string;
}

const NAME = /^[A-Za-z0-9_-]+/;

/** A string value is a reference when it starts with `$.`; `$$` escapes a literal `$`. */
export const isRef = (v: unknown): v is string => typeof v === 'string' && v.startsWith('$.');

/** A literal string as written: `$$.x` stands for the text `$.x`. */
export const literal = (v: unknown): unknown =>
  typeof v === 'string' && v.startsWith('$$') ? v.slice(1) : v;

/** The reference written in `text`, or the reason it is not one. */
export function parseRef(text: string): PipelineRef | { error: string } {
  if (!text.startsWith('$.')) return { error: `'${text}' must start with $.request or $.steps.<id>` };
  const segments: (string | number)[] = [];
  let rest = text.slice(1);
  while (rest.length > 0) {
    if (rest.startsWith('.')) {
      const m = NAME.exec(rest.slice(1));
      if (!m) return { error: `'${text}': a name after '.' is letters, digits, _ or -` };
      segments.push(m[0]);
      rest = rest.slice(1 + m[0].length);
    } else if (rest.startsWith('[')) {
      const m = /^\[(\d{1,6})\]/.exec(rest);
      if (!m) return { error: `'${text}': an index is [N], N a whole number` };
      segments.push(Number(m[1]));
      rest = rest.slice(m[0].length);
    } else {
      return { error: `'${text}': expected .name or [N] at '${rest}'` };
    }
  }
  const [root, id, ...path] = segments;
  if (root === 'request') return { from: { request: true }, path: segments.slice(1), text };
  if (root === 'steps' && typeof id === 'string') return { from: { step: id }, path, text };
  return { error: `'${text}' must start with $.request or $.steps.<id>` };
}

/** The value at `path` in `root`; undefined when a segment is missing. */
export function readPath(root: unknown, path: readonly (string | number)[]): unknown {
  let v = root;
  for (const seg of path) {
    if (typeof seg === 'number') {
      if (!Array.isArray(v)) return undefined;
      v = v[seg];
    } else {
      if (typeof v !== 'object' || v === null || Array.isArray(v) || !Object.hasOwn(v, seg)) return undefined;
      v = (v as Record<string, unknown>)[seg];
    }
  }
  return v;
}

const TEMPLATE_REF = /\{\{\s*(\$[^}\s]*)\s*\}\}/g;

/** The references a prompt template holds, `{{ $.path }}` each. */
export function templateRefs(template: string): string[] {
  return [...template.matchAll(TEMPLATE_REF)].map((m) => m[1]!);
}

/** A template with each `{{ $.path }}` replaced by `value(path)`: a string as it is, else its JSON. */
export function fillTemplate(template: string, value: (ref: string) => unknown): string {
  return template.replace(TEMPLATE_REF, (_, ref: string) => {
    const v = value(ref);
    return typeof v === 'string' ? v : JSON.stringify(v);
  });
}
