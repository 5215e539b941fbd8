import { describe, expect, it } from 'vitest';
import { parseIceServers, reuseUntil } from './ice';

describe('ICE servers from WHEP Link headers', () => {
  it('reads STUN and TURN with the credential the server minted', () => {
    const link = '<stun:stun.example.net>; rel="ice-server", '
      + '<turn:127.0.0.1:3478?transport=udp>; rel="ice-server"; username="1700000000:ann"; '
      + 'credential="18Y98NEAKcoc1kCI2+NxWHA+ma4="; credential-type="password"';
    expect(parseIceServers(link)).toEqual([
      { urls: 'stun:stun.example.net' },
      { urls: 'turn:127.0.0.1:3478?transport=udp', username: '1700000000:ann', credential: '18Y98NEAKcoc1kCI2+NxWHA+ma4=' },
    ]);
  });
  it('ignores other relations, other schemes and garbage', () => {
    expect(parseIceServers(null)).toEqual([]);
    expect(parseIceServers('')).toEqual([]);
    expect(parseIceServers('<https://example.net/>; rel="next"')).toEqual([]);
    expect(parseIceServers('<http://relay>; rel="ice-server"')).toEqual([]);
    expect(parseIceServers('no angle brackets; rel="ice-server"')).toEqual([]);
    expect(parseIceServers('<turn:a>; rel=ice-server')).toEqual([{ urls: 'turn:a' }]);
  });
  it('reuses an answer for ten minutes, or half the life left to a credential if sooner', () => {
    const now = 1_700_000_000_000;
    expect(reuseUntil([{ urls: 'stun:s' }], now)).toBe(now + 600_000);
    const day = [{ urls: 'turn:t', username: `${now / 1000 + 86400}:ann`, credential: 'c' }];
    expect(reuseUntil(day, now)).toBe(now + 600_000);
    const minute = [{ urls: 'turn:t', username: `${now / 1000 + 60}:ann`, credential: 'c' }];
    expect(reuseUntil(minute, now)).toBe(now + 30_000);
  });
});
