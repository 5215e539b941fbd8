// The OpenID Provider of the OIDC integration tests (tests/integration/test_oidc.py):
// npm's oidc-provider (pinned in package.json) on 127.0.0.1, with our own
// login and consent pages (a user with a password, not the dev pages that
// accept anyone), RS256 and ES256 keys, JWT access tokens for the resource
// urn:horus:api, and key rotation on demand.
//
// Usage: node idp.mjs --port P --redirect-uri URI [--user alice --password pw
//        --groups a,b --cameras c1,c2 --access-token-ttl SECONDS]
// Clients: "horus" (client_secret_basic, ID tokens RS256) and "horus-post"
// (client_secret_post, ID tokens ES256), both with secret "horus-secret".
// POST /admin/rotate switches to a fresh key set (new kids); the old keys
// are no longer published. Prints "ready <issuer>" on stdout when listening.
import http from 'node:http';
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import Provider from 'oidc-provider';

function arg(name, def) {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && i + 1 < process.argv.length ? process.argv[i + 1] : def;
}

const port = Number(arg('port', '0'));
const redirectUri = arg('redirect-uri', 'http://127.0.0.1:8080/api/v1/auth/oidc/callback');
const user = { login: arg('user', 'alice'), password: arg('password', 'alice-password') };
const groups = arg('groups', 'horus-viewers').split(',').filter(Boolean);
const cameras = arg('cameras', '').split(',').filter(Boolean);
const accessTokenTtl = Number(arg('access-token-ttl', '300'));
const issuer = `http://127.0.0.1:${port}`;
const secret = 'horus-secret';

let generation = 0;
function keySet() {
  generation += 1;
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' });
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' });
  return [
    { ...rsa, kid: `rsa-${generation}-${randomUUID().slice(0, 8)}`, alg: 'RS256', use: 'sig' },
    { ...ec, kid: `ec-${generation}-${randomUUID().slice(0, 8)}`, alg: 'ES256', use: 'sig' },
  ];
}

function claimsOf(sub) {
  return {
    sub,
    preferred_username: user.login,
    email: `${user.login}@example.test`,
    email_verified: true,
    groups,
    ...(cameras.length ? { cameras } : {}),
  };
}

function makeProvider(keys) {
  const common = {
    client_secret: secret,
    redirect_uris: [redirectUri],
    post_logout_redirect_uris: [redirectUri.replace(/\/api\/.*$/, '/')],
    grant_types: ['authorization_code', 'client_credentials'],
    response_types: ['code'],
  };
  const provider = new Provider(issuer, {
    clients: [
      { ...common, client_id: 'horus', token_endpoint_auth_method: 'client_secret_basic',
        id_token_signed_response_alg: 'RS256' },
      { ...common, client_id: 'horus-post', token_endpoint_auth_method: 'client_secret_post',
        id_token_signed_response_alg: 'ES256' },
    ],
    jwks: { keys },
    cookies: { keys: ['horus-test-idp-cookie-key'] },
    claims: {
      openid: ['sub'],
      profile: ['preferred_username'],
      email: ['email', 'email_verified'],
      groups: ['groups', 'cameras'],
    },
    scopes: ['openid', 'offline_access', 'profile', 'email', 'groups', 'api'],
    conformIdTokenClaims: false,
    pkce: { required: () => true },
    findAccount: async (ctx, sub) => ({ accountId: sub, claims: async () => claimsOf(sub) }),
    extraTokenClaims: async (ctx, token) =>
      token.accountId ? { groups }
        : { groups: ['horus-operators'], ...(cameras.length ? { cameras } : {}) },
    features: {
      devInteractions: { enabled: false },
      rpInitiatedLogout: { enabled: true },
      clientCredentials: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => 'urn:horus:api',
        useGrantedResource: () => true,
        getResourceServerInfo: () => ({
          scope: 'api',
          audience: 'horus-api',
          accessTokenTTL: accessTokenTtl,
          accessTokenFormat: 'jwt',
          jwt: { sign: { alg: 'ES256' } },
        }),
      },
    },
    interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
    ttl: { Interaction: 600, Session: 3600, Grant: 3600, AuthorizationCode: 60, IdToken: 300,
           AccessToken: accessTokenTtl, ClientCredentials: accessTokenTtl },
  });
  provider.on('server_error', (ctx, err) => console.error('idp server_error', err));
  return provider;
}

const escape = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
function page(res, status, body) {
  res.writeHead(status, { 'content-type': 'text/html; charset=utf-8' });
  res.end(`<!doctype html><html><body>${body}</body></html>`);
}

async function readForm(req) {
  let body = '';
  for await (const chunk of req) {
    body += chunk;
    if (body.length > 65536) throw new Error('form too large');
  }
  return new URLSearchParams(body);
}

let provider = makeProvider(keySet());
let handler = provider.callback();

async function interaction(req, res, uid, action) {
  const details = await provider.interactionDetails(req, res);
  if (details.uid !== uid) return page(res, 400, 'interaction mismatch');
  const { prompt, params, session } = details;
  if (req.method === 'GET') {
    if (prompt.name === 'login') {
      return page(res, 200, `<h1>Sign in</h1><form method="post" action="/interaction/${uid}/login">
        <input name="login"><input name="password" type="password"><button>Sign in</button></form>`);
    }
    return page(res, 200, `<h1>Allow ${escape(params.client_id)}?</h1>
      <form method="post" action="/interaction/${uid}/confirm"><button>Allow</button></form>`);
  }
  const form = await readForm(req);
  if (action === 'login' && prompt.name === 'login') {
    if (form.get('login') !== user.login || form.get('password') !== user.password) {
      return page(res, 401, `<p>wrong user or password</p><form method="post" action="/interaction/${uid}/login">
        <input name="login"><input name="password" type="password"><button>Sign in</button></form>`);
    }
    return provider.interactionFinished(req, res, { login: { accountId: `sub-${user.login}` } },
      { mergeWithLastSubmission: false });
  }
  if (action === 'confirm' && prompt.name === 'consent') {
    const d = prompt.details;
    const grant = details.grantId
      ? await provider.Grant.find(details.grantId)
      : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
    if (d.missingOIDCScope) grant.addOIDCScope(d.missingOIDCScope.join(' '));
    if (d.missingOIDCClaims) grant.addOIDCClaims(d.missingOIDCClaims);
    if (d.missingResourceScopes) {
      for (const [indicator, scopes] of Object.entries(d.missingResourceScopes)) {
        grant.addResourceScope(indicator, scopes.join(' '));
      }
    }
    const grantId = await grant.save();
    return provider.interactionFinished(req, res, { consent: { grantId } },
      { mergeWithLastSubmission: true });
  }
  return page(res, 400, 'unexpected interaction step');
}

const server = http.createServer(async (req, res) => {
  try {
    const url = new URL(req.url, issuer);
    if (req.method === 'POST' && url.pathname === '/admin/rotate') {
      provider = makeProvider(keySet());
      handler = provider.callback();
      res.writeHead(200, { 'content-type': 'application/json' });
      return res.end(JSON.stringify({ generation }));
    }
    const m = url.pathname.match(/^\/interaction\/([^/]+)(?:\/(login|confirm))?$/);
    if (m) return await interaction(req, res, m[1], m[2]);
    return handler(req, res);
  } catch (err) {
    console.error('idp error', err);
    if (!res.headersSent) page(res, 500, 'error');
    else res.end();
  }
});
server.listen(port, '127.0.0.1', () => {
  console.log(`ready ${issuer}`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
