import { describe, expect, it } from 'vitest';

import { matchPath } from './path';

describe('matchPath', () => {
  it('matches literal and parameter segments', () => {
    expect(matchPath('/cameras/:id', '/cameras/door')).toEqual({ id: 'door' });
    expect(matchPath('/cameras', '/cameras')).toEqual({});
    expect(matchPath('/cameras', '/cameras/door')).toBeNull();
    expect(matchPath('/cameras/:id', '/cameras')).toBeNull();
  });
  it('treats a trailing ? parameter as optional', () => {
    expect(matchPath('/history/:camera?', '/history')).toEqual({});
    expect(matchPath('/history/:camera?', '/history/yard')).toEqual({ camera: 'yard' });
    expect(matchPath('/history/:camera?', '/history/yard/x')).toBeNull();
  });
  it('decodes parameters', () => {
    expect(matchPath('/admin/users/:name', '/admin/users/a%40b.c')).toEqual({ name: 'a@b.c' });
  });
});
