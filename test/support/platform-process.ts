// A platform replica in a process of its own (gateway + controller + local provider), for tests that
// kill one: node --import tsx test/support/platform-process.ts '<json WarmgateOptions>'.
// Prints one JSON line {"url": ...} once listening; SIGTERM closes it.
import { startWarmgate, type WarmgateOptions } from '../../warmpool/platform.ts';
import { ADMIN_TOKEN } from './platform.ts';

const options = JSON.parse(process.argv[2] ?? '{}') as WarmgateOptions;
const wg = await startWarmgate({ host: '127.0.0.1', port: 0, adminToken: ADMIN_TOKEN, ...options });
console.log(JSON.stringify({ url: wg.url }));
process.once('SIGTERM', () => {
  void wg.close().then(() => process.exit(0));
});
