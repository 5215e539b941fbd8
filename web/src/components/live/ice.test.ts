import { describe, expect, it } from 'vitest';
import { parseIceServers } from './ice';

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
});
