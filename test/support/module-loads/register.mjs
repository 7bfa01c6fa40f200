// node --import ./test/support/module-loads/register.mjs: appends the URL of every module the process
// resolves, one a line, to the file named by LOADED_MODULES_LOG. A test reads it to learn what a real
// process loaded (test/gateway/no-onnxruntime.test.ts).
import { register } from 'node:module';

register('./hooks.mjs', import.meta.url);
