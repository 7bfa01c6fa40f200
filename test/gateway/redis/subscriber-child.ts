// Run by subscriber.test.ts: a subscriber that follows the parent's lines on stdin. `plain` uses ioredis's
// own resubscription (the behaviour openSubscriber exists to avoid), `kept` uses openSubscriber +
// keepSubscribed. Prints `subscribed`, `message <text>` and `ready <n>`; on `drop-next-ready` it
// closes the connection on the next reconnect, while the resubscription is on the wire, then prints `dropped`.
import { createInterface } from 'node:readline';
import { Redis } from 'ioredis';
import { keepSubscribed, openSubscriber } from '../../../gateway/redis/subscriber.ts';

const [mode, url] = process.argv.slice(2) as ['plain' | 'kept', string];
const channel = 'wg:test:subscriber';
const c = mode === 'plain' ? new Redis(url) : openSubscriber(url);
c.on('error', () => undefined);
c.on('message', (_ch: string, text: string) => console.log(`message ${text}`));
let readies = 0;
let dropNext = false;
c.on('ready', () => {
  readies += 1;
  console.log(`ready ${readies}`);
  if (dropNext && readies > 1) {
    // Closed for good before Redis can answer the SUBSCRIBE just sent: as a close() or a Redis that goes
    // away mid-reply does, but every time (end() alone lets a fast Redis answer first).
    c.disconnect();
    (c as unknown as { stream: { destroy(): void } }).stream.destroy();
    setTimeout(() => console.log('dropped'), 300);
  }
});
const first = mode === 'plain' ? c.subscribe(channel) : keepSubscribed(c, channel);
void first.then(() => console.log('subscribed'));
createInterface({ input: process.stdin }).on('line', (line) => {
  if (line === 'drop-next-ready') dropNext = true;
});
