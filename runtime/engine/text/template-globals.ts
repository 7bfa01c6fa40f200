/**
 * The globals transformers gives a chat template besides the messages: Python's constants, range(),
 * and strftime_now() (Llama 3.x templates print today's date with it). The clock is passed in.
 */
export function templateGlobals(now: () => Date): Record<string, unknown> {
  return {
    true: true,
    false: false,
    none: null,
    True: true,
    False: false,
    None: null,
    range: pythonRange,
    strftime_now: (format: unknown) => strftime(now(), String(format)),
  };
}

function pythonRange(start: number, stop?: number, step = 1): number[] {
  if (stop === undefined) [start, stop] = [0, start];
  if (step === 0) throw new Error('range() arg 3 must not be zero');
  const out: number[] = [];
  for (let i = start; step > 0 ? i < stop : i > stop; i += step) out.push(i);
  return out;
}

// Python's strftime in the C locale, as transformers runs it: English names whatever the server's locale.
const MONTHS = [
  'January',
  'February',
  'March',
  'April',
  'May',
  'June',
  'July',
  'August',
  'September',
  'October',
  'November',
  'December',
];
const DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];

/** The directives chat templates use; any other is left as written. Local time, as Python's datetime.now(). */
export function strftime(date: Date, format: string): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  return format.replace(/%-?[a-zA-Z%]/g, (directive) => {
    switch (directive) {
      case '%Y':
        return String(date.getFullYear());
      case '%y':
        return pad(date.getFullYear() % 100);
      case '%m':
        return pad(date.getMonth() + 1);
      case '%-m':
        return String(date.getMonth() + 1);
      case '%d':
        return pad(date.getDate());
      case '%-d':
        return String(date.getDate());
      case '%B':
        return MONTHS[date.getMonth()]!;
      case '%b':
        return MONTHS[date.getMonth()]!.slice(0, 3);
      case '%A':
        return DAYS[date.getDay()]!;
      case '%a':
        return DAYS[date.getDay()]!.slice(0, 3);
      case '%H':
        return pad(date.getHours());
      case '%M':
        return pad(date.getMinutes());
      case '%S':
        return pad(date.getSeconds());
      case '%%':
        return '%';
      default:
        return directive;
    }
  });
}
