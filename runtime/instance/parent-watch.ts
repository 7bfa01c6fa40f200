/** Set by the provider that spawns an instance: its own pid, the parent to outlive no longer. */
export const PARENT_PID_ENV = 'WARMGATE_PARENT_PID';

/**
 * Calls `onGone` once the process that started this one has ended (the kernel re-parents an orphan, so
 * process.ppid changes). A standby, or an instance nobody could adopt, then ends instead of lingering.
 * The parent is the one named in WARMGATE_PARENT_PID when set: a parent killed while this process was
 * still importing would otherwise be missed (process.ppid is already the new one when first read).
 */
export function watchParent(onGone: () => void, everyMs = 1000): () => void {
  const named = Number(process.env[PARENT_PID_ENV]);
  const parent = Number.isSafeInteger(named) && named > 0 ? named : process.ppid;
  const check = () => {
    if (process.ppid === parent) return false;
    clearInterval(timer);
    onGone();
    return true;
  };
  const timer = setInterval(check, everyMs);
  timer.unref();
  queueMicrotask(check);
  return () => clearInterval(timer);
}
