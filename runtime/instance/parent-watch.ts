/**
 * Calls `onGone` once the process that started this one has ended (the kernel re-parents an orphan, so
 * process.ppid changes). A standby, or an instance nobody could adopt, then ends instead of lingering.
 */
export function watchParent(onGone: () => void, everyMs = 1000): () => void {
  const parent = process.ppid;
  const timer = setInterval(() => {
    if (process.ppid !== parent) {
      clearInterval(timer);
      onGone();
    }
  }, everyMs);
  timer.unref();
  return () => clearInterval(timer);
}
