#!/usr/bin/env node
// Stand-in OpenID provider for the interop harnesses: `oidc-provider` (an OpenID
// Certified OP) configured the way coop-sso is meant to behave (issue 3):
//   - authorization code flow only, PKCE required, S256 only
//   - RS256 ID tokens, refresh tokens with rotation (a replayed one revokes the grant)
//   - claims sub/name/email/email_verified/preferred_username/locale/member_number/
//     household/roles, released in the ID token as well as userinfo
//   - one confidential client (client_secret_basic or client_secret_post) that may also
//     use client_credentials
//   - one demo member, login alice@example.org, password from STANDIN_PASSWORD;
//     the login page checks the password and carries a hidden csrf_token, then a
//     consent page, so the login drivers are exercised the way coop-sso will exercise them
//
// Env: PORT (default 0 = any free port), STANDIN_CLIENT_ID (cooperage-rp),
// STANDIN_CLIENT_SECRET (required), STANDIN_REDIRECT_URIS (space-separated, required),
// STANDIN_PASSWORD (required).
// Optional, for the Rust relying-party tests (crates/coop-web/tests/it/auth.rs):
//   STANDIN_POST_LOGOUT_REDIRECT_URIS  space-separated post_logout_redirect_uris of the client
//   STANDIN_JWT_AUDIENCE               when set, client_credentials tokens are RFC 9068 JWTs
//                                      (typ at+jwt, RS256) with this `aud`, for the resource
//                                      urn:cooperage:api (the default resource of that grant)
//   STANDIN_API_SCOPES                 scopes that resource grants (default "api")
// Without them the stand-in behaves exactly as before (opaque access tokens).
// Prints `ISSUER=http://127.0.0.1:<port>` on stdout once listening. Binds 127.0.0.1 only.
import * as crypto from 'node:crypto';
import * as http from 'node:http';
import Provider, { errors } from 'oidc-provider';

function need(name) {
  const v = process.env[name];
  if (!v) {
    console.error(`op-standin: env ${name} is required`);
    process.exit(2);
  }
  return v;
}

const HOST = '127.0.0.1';
const CLIENT_ID = process.env.STANDIN_CLIENT_ID || 'cooperage-rp';
const CLIENT_SECRET = need('STANDIN_CLIENT_SECRET');
const REDIRECT_URIS = need('STANDIN_REDIRECT_URIS').split(/[\s,]+/).filter(Boolean);
const PASSWORD = need('STANDIN_PASSWORD');
const POST_LOGOUT_REDIRECT_URIS = (process.env.STANDIN_POST_LOGOUT_REDIRECT_URIS || '')
  .split(/[\s,]+/).filter(Boolean);
const JWT_AUDIENCE = process.env.STANDIN_JWT_AUDIENCE || '';
const API_SCOPES = process.env.STANDIN_API_SCOPES || 'api';
const API_RESOURCE = 'urn:cooperage:api';

// The one demo member. `sub` is opaque and stable, not the login.
const ACCOUNTS = new Map([
  ['alice@example.org', {
    sub: 'mbr-3f9c2a71d0',
    password: PASSWORD,
    claims: {
      name: 'Alice Andersson',
      email: 'alice@example.org',
      email_verified: true,
      preferred_username: 'alice',
      locale: 'sv-SE',
      member_number: 'M-0001',
      household: 'hh-0001',
      roles: ['member', 'cashier'],
    },
  }],
]);
const BY_SUB = new Map([...ACCOUNTS.values()].map((a) => [a.sub, a]));

const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingJwk = { ...privateKey.export({ format: 'jwk' }), kid: 'standin-rs256-1', alg: 'RS256', use: 'sig' };

const configuration = {
  clients: [{
    client_id: CLIENT_ID,
    client_secret: CLIENT_SECRET,
    redirect_uris: REDIRECT_URIS,
    ...(POST_LOGOUT_REDIRECT_URIS.length ? { post_logout_redirect_uris: POST_LOGOUT_REDIRECT_URIS } : {}),
    grant_types: ['authorization_code', 'refresh_token', 'client_credentials'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic', // oidc-provider accepts _post as well for secret clients
    id_token_signed_response_alg: 'RS256',
    scope: 'openid profile email roles offline_access',
  }],
  jwks: { keys: [signingJwk] },
  cookies: { keys: [crypto.randomBytes(32).toString('base64url')] },
  responseTypes: ['code'],
  clientAuthMethods: ['client_secret_basic', 'client_secret_post'],
  enabledJWA: { idTokenSigningAlgValues: ['RS256'] },
  pkce: { required: () => true },
  scopes: ['openid', 'profile', 'email', 'roles', 'offline_access'],
  claims: {
    openid: ['sub'],
    profile: ['name', 'preferred_username', 'locale', 'member_number', 'household', 'roles'],
    email: ['email', 'email_verified'],
    roles: ['roles'], // coop-sso's own scope for the roles claim
  },
  conformIdTokenClaims: false, // profile claims in the ID token too (Synapse reads only the ID token)
  // Refresh tokens for the code flow whenever the client may use them (no offline_access needed),
  // rotated on every use; a replayed one is rejected and revokes the grant (oidc-provider default).
  issueRefreshToken: async (ctx, client) => client.grantTypeAllowed('refresh_token'),
  rotateRefreshToken: () => true,
  features: {
    devInteractions: { enabled: false },
    pushedAuthorizationRequests: { enabled: false },
    dPoP: { enabled: false },
    clientCredentials: { enabled: true },
    revocation: { enabled: true },
    rpInitiatedLogout: { enabled: true },
    userinfo: { enabled: true },
    ...(JWT_AUDIENCE ? {
      // RFC 9068 access tokens for client_credentials only: code-flow access tokens stay
      // opaque, so userinfo keeps working for the other harnesses.
      resourceIndicators: {
        enabled: true,
        defaultResource: async (ctx, client, oneOf) => {
          if (oneOf) return oneOf;
          return ctx.oidc.params?.grant_type === 'client_credentials' ? API_RESOURCE : undefined;
        },
        useGrantedResource: async () => false,
        getResourceServerInfo: async (ctx, resource) => {
          if (resource !== API_RESOURCE) throw new errors.InvalidTarget();
          return {
            scope: API_SCOPES,
            audience: JWT_AUDIENCE,
            accessTokenFormat: 'jwt',
            jwt: { sign: { alg: 'RS256' } },
          };
        },
      },
    } : {}),
  },
  ttl: {
    AccessToken: 3600,
    AuthorizationCode: 60,
    ClientCredentials: 600,
    IdToken: 3600,
    Interaction: 3600,
    RefreshToken: 14 * 24 * 3600,
    Session: 14 * 24 * 3600,
    Grant: 14 * 24 * 3600,
  },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  findAccount: async (ctx, sub) => {
    const account = BY_SUB.get(sub);
    if (!account) return undefined;
    return { accountId: sub, claims: async () => ({ sub, ...account.claims }) };
  },
  loadExistingGrant: async (ctx) => {
    const grantId = ctx.oidc.result?.consent?.grantId
      || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
    return grantId ? ctx.oidc.provider.Grant.find(grantId) : undefined;
  },
};

let provider; // created once the listening port (and so the issuer) is known

// ---- interaction pages (login with password + csrf_token, then consent) ----
const CSRF_KEY = crypto.randomBytes(32);
const csrfFor = (uid) => crypto.createHmac('sha256', CSRF_KEY).update(uid).digest('base64url');
const esc = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function page(res, status, title, body) {
  res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
  res.end(`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${esc(title)}</title></head><body><h1>${esc(title)}</h1>${body}</body></html>`);
}

async function readForm(req) {
  let body = '';
  for await (const chunk of req) {
    body += chunk;
    if (body.length > 16384) throw new Error('form too large');
  }
  return new URLSearchParams(body);
}

async function interaction(req, res) {
  const details = await provider.interactionDetails(req, res);
  const { uid, prompt, params, session } = details;
  const action = `/interaction/${uid}`;
  if (req.method === 'GET') {
    if (prompt.name === 'login') {
      return page(res, 200, 'Sign in', `<form method="post" action="${esc(action)}">
<input type="hidden" name="csrf_token" value="${esc(csrfFor(uid))}">
<label>Login <input type="text" name="login" autocomplete="username"></label>
<label>Password <input type="password" name="password" autocomplete="current-password"></label>
<button type="submit" name="action" value="login">Sign in</button></form>`);
    }
    return page(res, 200, 'Authorize', `<p>${esc(params.client_id)} asks for: ${esc(params.scope)}</p>
<form method="post" action="${esc(action)}">
<input type="hidden" name="csrf_token" value="${esc(csrfFor(uid))}">
<button type="submit" name="decision" value="allow">Continue</button></form>`);
  }
  if (req.method !== 'POST') return page(res, 405, 'Method not allowed', '');
  const form = await readForm(req);
  if (!crypto.timingSafeEqual(Buffer.from(csrfFor(uid)), Buffer.from(String(form.get('csrf_token') || '').padEnd(43).slice(0, 43)))) {
    return page(res, 400, 'Bad request', '<p>CSRF token mismatch</p>');
  }
  if (prompt.name === 'login') {
    const account = ACCOUNTS.get(String(form.get('login') || '').trim().toLowerCase());
    const password = Buffer.from(String(form.get('password') || ''));
    const ok = account && password.length === Buffer.byteLength(account.password)
      && crypto.timingSafeEqual(password, Buffer.from(account.password));
    if (!ok) return page(res, 401, 'Sign in failed', '<p>Wrong login or password.</p>');
    return provider.interactionFinished(req, res, { login: { accountId: account.sub } }, { mergeWithLastSubmission: false });
  }
  if (prompt.name === 'consent') {
    const grant = details.grantId
      ? await provider.Grant.find(details.grantId)
      : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
    const d = prompt.details;
    if (d.missingOIDCScope) grant.addOIDCScope(d.missingOIDCScope.join(' '));
    if (d.missingOIDCClaims) grant.addOIDCClaims(d.missingOIDCClaims);
    if (d.missingResourceScopes) {
      for (const [indicator, scopes] of Object.entries(d.missingResourceScopes)) grant.addResourceScope(indicator, scopes.join(' '));
    }
    const grantId = await grant.save();
    return provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
  }
  return page(res, 501, 'Not implemented', `<p>prompt ${esc(prompt.name)}</p>`);
}

let oidcCallback;
const server = http.createServer((req, res) => {
  if (req.url.startsWith('/interaction/')) {
    interaction(req, res).catch((err) => {
      if (!res.headersSent) page(res, 400, 'Interaction error', `<p>${esc(err.message)}</p>`);
      else res.end();
    });
    return;
  }
  oidcCallback(req, res);
});

server.listen(Number(process.env.PORT || 0), HOST, () => {
  const { port } = server.address();
  provider = new Provider(`http://${HOST}:${port}`, configuration);
  oidcCallback = provider.callback();
  console.log(`ISSUER=${provider.issuer}`);
});

for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => server.close(() => process.exit(0)));
