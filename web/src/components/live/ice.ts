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

// The endpoint's ICE servers, or none when it cannot say in time.
export async function fetchIceServers(url: string, headers: Record<string, string>,
  signal: AbortSignal): Promise<RTCIceServer[]> {
  const timeout = new AbortController();
  const timer = window.setTimeout(() => timeout.abort(), 3000);
  const onAbort = () => timeout.abort();
  signal.addEventListener('abort', onAbort);
  try {
    const res = await fetch(url, { method: 'OPTIONS', headers, credentials: 'same-origin', signal: timeout.signal });
    return res.ok ? parseIceServers(res.headers.get('Link')) : [];
  } catch {
    return [];
  } finally {
    window.clearTimeout(timer);
    signal.removeEventListener('abort', onAbort);
  }
}
