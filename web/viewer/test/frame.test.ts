import { afterEach, describe, expect, it, vi } from 'vitest';
import { perFrame } from '../src/frame';

describe('perFrame', () => {
  const frames: FrameRequestCallback[] = [];
  vi.stubGlobal('requestAnimationFrame', (cb: FrameRequestCallback) => frames.push(cb));
  const tick = () => frames.splice(0).forEach(cb => cb(0));
  afterEach(() => void frames.splice(0));

  it('runs once per animation frame however often it is called', () => {
    let n = 0;
    const f = perFrame(() => n++);
    f();
    f();
    f();
    expect(n).toBe(0);
    tick();
    expect(n).toBe(1);
    tick();
    expect(n).toBe(1);
    f();
    tick();
    expect(n).toBe(2);
  });
});
