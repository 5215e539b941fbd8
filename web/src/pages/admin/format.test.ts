import { describe, expect, it } from 'vitest';
import {
  detailsText, formatBytes, formatDuration, formatTime, grantLabel, groupSecret, groupsOf,
  agentLabel, formatDays, localInputToIso, otpauthSecret, percent, relativeTime, toggleGrant,
} from './format';

describe('formatBytes', () => {
  it('picks a binary unit', () => {
    expect(formatBytes(0)).toBe('0 B');
    expect(formatBytes(1023)).toBe('1023 B');
    expect(formatBytes(1536)).toBe('1.5 KiB');
    expect(formatBytes(200 * 1024 * 1024)).toBe('200 MiB');
    expect(formatBytes(3.25 * 1024 ** 4)).toBe('3.3 TiB');
  });
  it('shows a dash for unknown values', () => {
    expect(formatBytes(null)).toBe('—');
    expect(formatBytes(undefined)).toBe('—');
    expect(formatBytes(-1)).toBe('—');
    expect(formatBytes(NaN)).toBe('—');
  });
});

describe('formatDuration', () => {
  it('uses the two largest units', () => {
    expect(formatDuration(42)).toBe('42 s');
    expect(formatDuration(125)).toBe('2 min 5 s');
    expect(formatDuration(3600)).toBe('1 h');
    expect(formatDuration(93784)).toBe('1 d 2 h');
    expect(formatDuration(86400 * 3)).toBe('3 d');
    expect(formatDuration(null)).toBe('—');
  });
});

describe('times', () => {
  it('formats a time in the local zone', () => {
    const d = new Date(2026, 11, 2, 9, 5, 7);
    expect(formatTime(d.toISOString())).toBe('2026-12-02 09:05:07');
    expect(formatTime(null)).toBe('—');
    expect(formatTime('not a time')).toBe('not a time');
  });
  it('says how long ago', () => {
    const now = Date.parse('2026-12-02T12:00:00Z');
    expect(relativeTime('2026-12-02T11:59:50Z', now)).toBe('just now');
    expect(relativeTime('2026-12-02T11:57:00Z', now)).toBe('3 min ago');
    expect(relativeTime('2026-12-02T09:00:00Z', now)).toBe('3 h ago');
    expect(relativeTime('2026-12-04T12:00:00Z', now)).toBe('in 2 d');
  });
  it('turns a datetime-local value into UTC', () => {
    expect(localInputToIso('')).toBeNull();
    expect(localInputToIso('nonsense')).toBeUndefined();
    expect(localInputToIso('2026-12-02T16:04')).toBe(new Date(2026, 11, 2, 16, 4).toISOString());
  });
});

describe('grants', () => {
  it('names a grant', () => {
    expect(grantLabel('*')).toBe('All cameras');
    expect(grantLabel([])).toBe('No cameras');
    expect(grantLabel(['door', 'group:lobby'])).toBe('door, lobby (group)');
    expect(grantLabel(['a', 'b', 'c', 'group:x'])).toBe('3 cameras, 1 group');
  });
  it('toggles entries', () => {
    expect(toggleGrant(['b'], 'a', true)).toEqual(['a', 'b']);
    expect(toggleGrant(['a', 'b'], 'a', true)).toEqual(['a', 'b']);
    expect(toggleGrant(['a', 'b'], 'a', false)).toEqual(['b']);
  });
  it('collects the groups of cameras', () => {
    expect(groupsOf([{ groups: ['z', 'a'] }, { groups: ['a'] }, {}])).toEqual(['a', 'z']);
  });
});

describe('secrets and details', () => {
  it('groups a secret by four', () => {
    expect(groupSecret('ABCDEFGHIJ')).toBe('ABCD EFGH IJ');
    expect(groupSecret('')).toBe('');
  });
  it('reads the secret of an otpauth URI', () => {
    expect(otpauthSecret('otpauth://totp/Horus:ann?secret=ABC&issuer=Horus')).toBe('ABC');
    expect(otpauthSecret('otpauth://totp/x')).toBeNull();
  });
  it('writes details in one line', () => {
    expect(detailsText({ role: 'viewer', cameras: ['a'] })).toBe('role=viewer, cameras=["a"]');
    expect(detailsText('raw')).toBe('raw');
    expect(detailsText(null)).toBe('');
  });
  it('computes a clamped percentage', () => {
    expect(percent(50, 200)).toBe(25);
    expect(percent(300, 200)).toBe(100);
    expect(percent(1, 0)).toBe(0);
  });
});

describe('agentLabel', () => {
  it('names browser and system', () => {
    expect(agentLabel('Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/120.0 Safari/537.36'))
      .toBe('Chrome on Linux');
    expect(agentLabel('Mozilla/5.0 (Windows NT 10.0; rv:120.0) Gecko/20100101 Firefox/120.0')).toBe('Firefox on Windows');
    expect(agentLabel('curl/8.0')).toBe('curl');
    expect(agentLabel('')).toBe('Unknown');
  });
});

describe('formatDays', () => {
  it('keeps a decimal below ten days', () => {
    expect(formatDays(3.54)).toBe('3.5 days');
    expect(formatDays(1)).toBe('1 day');
    expect(formatDays(29.6)).toBe('30 days');
    expect(formatDays(null)).toBe('—');
  });
});
