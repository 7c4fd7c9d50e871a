// panva/oidc-provider (version pinned in package-lock.json), in memory,
// as the second reference provider of compare.sh (issue 21): the same
// flows as monban and zitadel/oidc's example OP, driven by the same
// cmd/monban-bench.
//
// Configured as it performs by default in memory: the default
// MemoryAdapter (an LRU of 1,000 entries per process), opaque access
// tokens (no resource indicator, so none are JWTs), RS256 ID tokens with
// a fresh RSA-2048 key. Changed from the defaults, each for a like-for-like
// comparison with monban:
//   - introspection (RFC 7662) and client_credentials are enabled;
//   - refresh tokens rotate on every use (monban rotates always);
//   - a refresh token is issued with every code whose client may use the
//     refresh_token grant (monban's rule), not only for offline_access
//     with prompt=consent (oidc-provider's default): so the SSO flow
//     issues the same three tokens on both, and its session-bound refresh
//     tokens expire with the session, as monban's do;
//   - signed cookies (keys), as any deployment sets them.
//
// There is no login page: the first authorization of a browser goes to
// /interaction/<uid>, which signs the fixed bench account in and grants
// the requested scopes without a page. From then on the session cookie
// gives SSO. GET /bench/interactions answers how many interactions ran,
// so compare.sh can check that the SSO iterations went through none.
//
// Environment: PORT (required), BENCH_CLIENT_SECRET, BENCH_MACHINE_SECRET
// (defaults below, loopback only).
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import http from 'node:http';

import Provider from 'oidc-provider';

const port = Number(process.env.PORT);
if (!Number.isInteger(port) || port <= 0) {
  console.error('oidc-provider bench: set PORT');
  process.exit(2);
}
const issuer = `http://127.0.0.1:${port}`;
const account = 'bench-user';

const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const rsa = { ...privateKey.export({ format: 'jwk' }), kid: 'bench-rs256', alg: 'RS256', use: 'sig' };

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: 'web',
      client_secret: process.env.BENCH_CLIENT_SECRET || 'web-secret',
      redirect_uris: ['http://127.0.0.1:9/callback'],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
      id_token_signed_response_alg: 'RS256',
    },
    {
      client_id: 'machine',
      client_secret: process.env.BENCH_MACHINE_SECRET || 'machine-secret',
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
      token_endpoint_auth_method: 'client_secret_basic',
      scope: 'api:read',
    },
  ],
  jwks: { keys: [rsa] },
  cookies: { keys: [randomBytes(32).toString('base64url')] },
  scopes: ['openid', 'offline_access', 'profile', 'email', 'api:read'],
  claims: { openid: ['sub'], profile: ['name'], email: ['email', 'email_verified'] },
  features: {
    devInteractions: { enabled: false },
    introspection: { enabled: true },
    clientCredentials: { enabled: true },
  },
  rotateRefreshToken: true,
  issueRefreshToken: async (ctx, client) => client.grantTypeAllowed('refresh_token'),
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  async findAccount(ctx, sub) {
    return {
      accountId: sub,
      async claims() {
        return { sub, name: 'Bench User', email: `${sub}@example.com`, email_verified: true };
      },
    };
  },
});

let interactions = 0;

// signIn finishes an interaction without a page: the bench account signs
// in and grants what the client asked for.
async function signIn(req, res) {
  const details = await provider.interactionDetails(req, res);
  interactions += 1;
  const grant = details.grantId
    ? await provider.Grant.find(details.grantId)
    : new provider.Grant({ accountId: account, clientId: details.params.client_id });
  grant.addOIDCScope(details.params.scope);
  const grantId = await grant.save();
  const to = await provider.interactionResult(req, res, { login: { accountId: account }, consent: { grantId } });
  res.writeHead(303, { Location: to, 'Content-Length': '0' }).end();
}

const app = provider.callback();
const server = http.createServer((req, res) => {
  if (req.url.startsWith('/interaction/')) {
    signIn(req, res).catch((err) => {
      res.writeHead(400, { 'Content-Type': 'text/plain' }).end(`interaction: ${err.message}\n`);
    });
  } else if (req.url === '/bench/interactions') {
    res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ interactions }));
  } else {
    app(req, res);
  }
});
server.listen(port, '127.0.0.1');
