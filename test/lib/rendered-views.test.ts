import { describe, expect, it } from 'vitest';
import { RenderedViews } from '../../src/lib/rendered-views';

describe('rendered event views', () => {
  it('answer only for the version they were rendered for', () => {
    const views = new RenderedViews();
    views.remember('event-a', 'v1-s1', '{"a":1}');

    expect(views.recall('event-a', 'v1-s1')).toBe('{"a":1}');
    expect(views.recall('event-a', 'v1-s2')).toBeUndefined();
    expect(views.recall('event-b', 'v1-s1')).toBeUndefined();
  });

  it('keep one body per event: a newer version replaces the older', () => {
    const views = new RenderedViews();
    views.remember('event-a', 'v1-s1', 'old');
    views.remember('event-a', 'v1-s2', 'new');

    expect(views.recall('event-a', 'v1-s1')).toBeUndefined();
    expect(views.recall('event-a', 'v1-s2')).toBe('new');
  });

  it('forget the least recently used event beyond 64 events', () => {
    const views = new RenderedViews();
    for (let i = 0; i < 64; i += 1) views.remember(`event-${i}`, 'v', `body ${i}`);
    views.recall('event-0', 'v');
    views.remember('event-64', 'v', 'body 64');

    expect(views.recall('event-0', 'v')).toBe('body 0');
    expect(views.recall('event-1', 'v')).toBeUndefined();
    expect(views.recall('event-64', 'v')).toBe('body 64');
  });

  it('do not keep a body too big to share the budget', () => {
    const views = new RenderedViews();
    views.remember('stadium', 'v', 'x'.repeat(13 * 1024 * 1024));

    expect(views.recall('stadium', 'v')).toBeUndefined();
  });
});
