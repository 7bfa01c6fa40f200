/**
 * A binary min-heap of (time, payload) pairs in typed arrays: no object per event. Equal times pop in
 * insertion order (a sequence number breaks ties), so a run is deterministic.
 */
export class EventHeap {
  #time = new Float64Array(64);
  #seq = new Float64Array(64);
  #payload = new Int32Array(64);
  #size = 0;
  #next = 0;

  get size(): number {
    return this.#size;
  }

  /** Time of the earliest event, Infinity when empty. */
  peekTime(): number {
    return this.#size === 0 ? Infinity : this.#time[0]!;
  }

  /** Payload of the earliest event (call only when not empty). */
  peekPayload(): number {
    return this.#payload[0]!;
  }

  push(time: number, payload: number): void {
    if (this.#size === this.#time.length) this.#grow();
    let i = this.#size++;
    const seq = this.#next++;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.#less(time, seq, this.#time[p]!, this.#seq[p]!)) break;
      this.#set(i, this.#time[p]!, this.#seq[p]!, this.#payload[p]!);
      i = p;
    }
    this.#set(i, time, seq, payload);
  }

  /** Removes the earliest event and returns its payload (call only when not empty). */
  pop(): number {
    const top = this.#payload[0]!;
    const n = --this.#size;
    if (n === 0) return top;
    const t = this.#time[n]!;
    const s = this.#seq[n]!;
    const v = this.#payload[n]!;
    let i = 0;
    for (;;) {
      let c = 2 * i + 1;
      if (c >= n) break;
      if (c + 1 < n && this.#less(this.#time[c + 1]!, this.#seq[c + 1]!, this.#time[c]!, this.#seq[c]!)) c++;
      if (!this.#less(this.#time[c]!, this.#seq[c]!, t, s)) break;
      this.#set(i, this.#time[c]!, this.#seq[c]!, this.#payload[c]!);
      i = c;
    }
    this.#set(i, t, s, v);
    return top;
  }

  #less(t1: number, s1: number, t2: number, s2: number): boolean {
    return t1 < t2 || (t1 === t2 && s1 < s2);
  }

  #set(i: number, t: number, s: number, v: number): void {
    this.#time[i] = t;
    this.#seq[i] = s;
    this.#payload[i] = v;
  }

  #grow(): void {
    const n = this.#time.length * 2;
    const time = new Float64Array(n);
    const seq = new Float64Array(n);
    const payload = new Int32Array(n);
    time.set(this.#time);
    seq.set(this.#seq);
    payload.set(this.#payload);
    this.#time = time;
    this.#seq = seq;
    this.#payload = payload;
  }
}
