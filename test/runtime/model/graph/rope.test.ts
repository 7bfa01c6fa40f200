import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ropeInvFreq } from '../../../../runtime/model/graph/index.ts';

const close = (got: number, want: number) =>
  assert.ok(Math.abs(got - want) <= 1e-12 * want, `${got} != ${want}`);

describe('RoPE inverse frequencies', () => {
  it('are theta^(-2i/dim) over the rotated dimensions', () => {
    const inv = ropeInvFreq({ theta: 10000 }, 8);
    [1, 0.1, 0.01, 0.001].forEach((want, i) => close(inv[i]!, want));
    assert.equal(ropeInvFreq({ theta: 10000, dim: 4 }, 8).length, 2);
  });

  it("apply Llama 3's scaling by wavelength band", () => {
    const llama3 = {
      factor: 8,
      low_freq_factor: 1,
      high_freq_factor: 4,
      original_max_position_embeddings: 256,
    };
    const plain = ropeInvFreq({ theta: 500000 }, 8);
    const scaled = ropeInvFreq({ theta: 500000, llama3 }, 8);
    // wavelengths 2*pi/f: 6.3 (below 256/4: kept), 167 (between: blended), 4443 and 118,000 (above 256: / 8)
    close(scaled[0]!, plain[0]!);
    close(scaled[2]!, plain[2]! / 8);
    close(scaled[3]!, plain[3]! / 8);
    // 167.079 tokens: smooth = (256 / 167.079 - 1) / 3 = 0.177403, f * ((1 - smooth) / 8 + smooth) = 0.01053823
    assert.ok(Math.abs(scaled[1]! - 0.01053823) < 1e-8, `${scaled[1]}`);
  });
});
