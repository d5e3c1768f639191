import { printableReason } from './dead-letter-publisher';

describe('printableReason', () => {
  it('escapes control characters so a reason stays one line, and keeps the rest', () => {
    expect(printableReason('not JSON: Unexpected token "\n\u0000\u007f" — ü')).toBe('not JSON: Unexpected token "\\u000a\\u0000\\u007f" — ü');
  });

  it('keeps at most 1,000 characters of the reason', () => {
    expect(printableReason('x'.repeat(2_000))).toHaveLength(1_000);
  });
});
