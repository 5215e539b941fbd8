// The ICE servers (STUN, TURN) a WHEP endpoint names in its Link headers
// (rel="ice-server", as WHIP and WHEP define them). The server asks players to
// use them when a direct path to its own UDP or TCP port cannot form (a NAT
// that maps every destination apart, a network that allows only a relay): the
// browser then gathers relay candidates and checks from the TURN server.
// Asked with OPTIONS before the offer, so the candidates are in it; a server
// without any answers no Link and nothing changes.

// One Link header value (or several joined by ", ", as fetch joins them).
export function parseIceServers(link: string | null): RTCIceServer[] {
  if (!link) return [];
  const out: RTCIceServer[] = [];
  for (const part of link.split(/,\s*(?=<)/)) {
    const m = /^\s*<([^>]+)>(.*)$/.exec(part);
    if (!m) continue;
    const params = new Map<string, string>();
    for (const p of m[2].split(';')) {
      const kv = /^\s*([A-Za-z-]+)\s*=\s*(?:"([^"]*)"|([^\s;]*))\s*$/.exec(p);
      if (kv) params.set(kv[1].toLowerCase(), kv[2] ?? kv[3] ?? '');
    }
    if (params.get('rel') !== 'ice-server') continue;
    const url = m[1];
    if (!/^(stun|turns?):/.test(url)) continue;
    const server: RTCIceServer = { urls: url };
    const username = params.get('username');
    const credential = params.get('credential');
    if (username !== undefined && credential !== undefined) {
      server.username = username;
      server.credential = credential;
    }
    out.push(server);
  }
  return out;
}

// What the last answer said, reused for a while by every player of the page: the servers are
// the node's, not the camera's, and a minted credential lasts far longer (webrtc.turn_ttl), so a
// wall of tiles asks once instead of adding a round trip to each tile's start.
const REUSE_MS = 10 * 60 * 1000;
let known: { servers: RTCIceServer[]; until: number } | null = null;

// Until when an answer may be reused: REUSE_MS, or half the life left to the first credential
// to expire (a TURN REST API username begins with its expiry in Unix seconds), if sooner.
export function reuseUntil(servers: RTCIceServer[], now: number): number {
  let until = now + REUSE_MS;
  for (const s of servers) {
    const m = /^(\d+):/.exec(s.username || '');
    if (m) until = Math.min(until, now + (Number(m[1]) * 1000 - now) / 2);
  }
  return until;
}

// The endpoint's ICE servers, or none when it cannot say in time.
export async function fetchIceServers(url: string, headers: Record<string, string>,
  signal: AbortSignal): Promise<RTCIceServer[]> {
  if (known && Date.now() < known.until) return known.servers;
  const timeout = new AbortController();
  const timer = window.setTimeout(() => timeout.abort(), 3000);
  const onAbort = () => timeout.abort();
  signal.addEventListener('abort', onAbort);
  try {
    const res = await fetch(url, { method: 'OPTIONS', headers, credentials: 'same-origin', signal: timeout.signal });
    if (!res.ok) return [];
    const servers = parseIceServers(res.headers.get('Link'));
    known = { servers, until: reuseUntil(servers, Date.now()) };
    return servers;
  } catch {
    return [];
  } finally {
    window.clearTimeout(timer);
    signal.removeEventListener('abort', onAbort);
  }
}
