import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ProxyTracerProvider, trace } from '@opentelemetry/api';
import { untracedTracer } from '../../../gateway/server/untraced.ts';

test('the untraced tracer starts non-recording spans, one shared span, and runs active spans', () => {
  const tracer = untracedTracer(new ProxyTracerProvider().getTracer('t'));
  const a = tracer.startSpan('a');
  const b = tracer.startSpan('b', { attributes: { x: 1 } });
  assert.equal(a.isRecording(), false);
  assert.equal(a, b);
  assert.equal(trace.isSpanContextValid(a.spanContext()), false);
  a.setAttribute('k', 'v').setStatus({ code: 2 }).end(); // ignored, as by the no-op tracer
  const out = tracer.startActiveSpan('c', (span) => {
    assert.equal(span.isRecording(), false);
    span.end();
    return 42;
  });
  assert.equal(out, 42);
});
