#!/usr/bin/env node
// Independent relying party: openid-client (an OpenID Certified RP library) against an OP.
//
// Env (required): ISSUER, CLIENT_ID, CLIENT_SECRET, REDIRECT_URI, USER, PASSWORD
// Env (optional):
//   CLIENT_AUTH              client_secret_basic (default) | client_secret_post
//   SCOPE                    default "openid profile email"
//   EXPECT_<CLAIM>           expected value of a claim in the ID token and userinfo, e.g.
//                            EXPECT_PREFERRED_USERNAME=alice, EXPECT_EMAIL_VERIFIED=true,
//                            EXPECT_ROLES=member,cashier (arrays: comma list, order ignored)
//   EXPECT_REFRESH_ROTATION=1       refresh returns a new refresh token and the old one is rejected
//   EXPECT_REUSE_REVOKES_FAMILY=1   after replaying the old refresh token, the new one is rejected too
//   TIMEOUT_S                whole run, default 60
// Prints `ok - <check>` / `not ok - <check>: <reason>` and a final `N passed, M failed` line;
// exits 1 if any check failed.
import * as client from 'openid-client';
import { driveLogin } from './login-driver.mjs';

let passed = 0;
let failed = 0;
const ok = (name) => { passed += 1; console.log(`ok - ${name}`); };
const notOk = (name, reason) => { failed += 1; console.log(`not ok - ${name}: ${String(reason).replace(/\s+/g, ' ')}`); };
const finish = () => {
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(failed || !passed ? 1 : 0);
};
const why = (e) => {
  // WWW-Authenticate challenges (e.g. invalid_client on a 401) carry the OAuth error in cause.
  const challenge = Array.isArray(e?.cause) ? e.cause.map((c) => `${c.scheme} ${JSON.stringify(c.parameters)}`).join('; ') : '';
  return [e?.name, e?.code, e?.error, e?.error_description || e?.message, challenge].filter(Boolean).join(' ');
};
const oauthError = (e) => e?.error ?? (Array.isArray(e?.cause) ? e.cause[0]?.parameters?.error : undefined);

/** Runs a check; a throw is a failure. Returns the value or undefined. */
async function check(name, fn) {
  try {
    const value = await fn();
    ok(name);
    return value ?? true;
  } catch (e) {
    notOk(name, why(e));
    return undefined;
  }
}
/** Expects fn to be refused with an OAuth error (invalid_grant by default). */
async function refused(name, fn, expected = 'invalid_grant') {
  try {
    await fn();
    notOk(name, 'accepted');
  } catch (e) {
    if (oauthError(e) === expected) ok(name);
    else notOk(name, `expected ${expected}, got ${why(e)}`);
  }
}
const assert = (cond, msg) => { if (!cond) throw new Error(msg); };

const env = process.env;
const missing = ['ISSUER', 'CLIENT_ID', 'CLIENT_SECRET', 'REDIRECT_URI', 'USER', 'PASSWORD'].filter((k) => !env[k]);
if (missing.length) {
  console.error(`rp-openid-client: missing env ${missing.join(', ')}`);
  process.exit(2);
}
setTimeout(() => { notOk('run', `timed out after ${env.TIMEOUT_S || 60} s`); finish(); }, Number(env.TIMEOUT_S || 60) * 1000).unref();

// EXPECT_* variables that are switches, or belong to synapse_sso.py, not claims.
const NOT_CLAIMS = new Set(['EXPECT_REFRESH_ROTATION', 'EXPECT_REUSE_REVOKES_FAMILY', 'EXPECT_LOCALPART', 'EXPECT_DISPLAYNAME']);
const expectations = Object.entries(env)
  .filter(([k]) => k.startsWith('EXPECT_') && !NOT_CLAIMS.has(k))
  .map(([k, v]) => [k.slice('EXPECT_'.length).toLowerCase(), v]);
const norm = (v) => (Array.isArray(v) ? [...v].map(String).sort().join(',') : String(v));
function checkClaims(claims) {
  for (const c of ['sub', 'name', 'email', 'preferred_username']) assert(claims[c] !== undefined && claims[c] !== '', `missing claim ${c}`);
  for (const [claim, want] of expectations) {
    const got = claims[claim];
    const wantN = Array.isArray(got) ? norm(want.split(',').map((s) => s.trim()).filter(Boolean)) : want;
    assert(got !== undefined, `missing claim ${claim}`);
    assert(norm(got) === wantN, `${claim} is ${JSON.stringify(got)}, expected ${JSON.stringify(want)}`);
  }
}

const clientAuth = (env.CLIENT_AUTH || 'client_secret_basic') === 'client_secret_post'
  ? client.ClientSecretPost(env.CLIENT_SECRET)
  : client.ClientSecretBasic(env.CLIENT_SECRET);

const config = await check(`discovery of ${env.ISSUER}`, async () => {
  const c = await client.discovery(new URL(env.ISSUER), env.CLIENT_ID, { client_secret: env.CLIENT_SECRET }, clientAuth, {
    execute: [client.allowInsecureRequests],
  });
  const md = c.serverMetadata();
  assert(md.issuer === env.ISSUER, `issuer ${md.issuer} != ${env.ISSUER}`);
  assert(md.code_challenge_methods_supported?.includes('S256'), 'code_challenge_methods_supported lacks S256');
  return c;
});
if (!config) finish();

const verifier = client.randomPKCECodeVerifier();
const state = client.randomState();
const nonce = client.randomNonce();
const authUrl = client.buildAuthorizationUrl(config, {
  redirect_uri: env.REDIRECT_URI,
  scope: env.SCOPE || 'openid profile email',
  code_challenge: await client.calculatePKCECodeChallenge(verifier),
  code_challenge_method: 'S256',
  state,
  nonce,
});

const callbackUrl = await check('login at the provider reaches the redirect URI with a code', async () => {
  const url = await driveLogin({ startUrl: authUrl.href, redirectUri: env.REDIRECT_URI, user: env.USER, password: env.PASSWORD, log: env.DEBUG ? (m) => console.error(`# ${m}`) : undefined });
  const params = new URL(url).searchParams;
  assert(!params.get('error'), `authorization error ${params.get('error')}: ${params.get('error_description')}`);
  assert(params.get('code'), `no code in ${url}`);
  return url;
});
if (!callbackUrl) finish();

const tokens = await check('code exchange (PKCE S256; ID token signature, iss, aud, exp, nonce; state)', () => client.authorizationCodeGrant(
  config,
  new URL(callbackUrl),
  { pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce, idTokenExpected: true },
));
if (!tokens) finish();

const idClaims = tokens.claims();
await check('ID token is RS256-signed with a kid', () => {
  const header = JSON.parse(Buffer.from(tokens.id_token.split('.')[0], 'base64url').toString());
  assert(header.alg === 'RS256', `alg ${header.alg}`);
  assert(header.kid, 'no kid in the ID token header');
});
await check('ID token carries sub, name, email, preferred_username (and EXPECT_* claims)', () => checkClaims(idClaims));
await check('token response: Bearer access token with expires_in', () => {
  assert(tokens.access_token, 'no access_token');
  assert(String(tokens.token_type).toLowerCase() === 'bearer', `token_type ${tokens.token_type}`);
  assert(typeof tokens.expires_in === 'number' && tokens.expires_in > 0, `expires_in ${tokens.expires_in}`);
});

await check('userinfo: sub matches the ID token (and EXPECT_* claims)', async () => {
  const info = await client.fetchUserInfo(config, tokens.access_token, idClaims.sub);
  assert(info.sub === idClaims.sub, `userinfo sub ${info.sub} != ${idClaims.sub}`);
  checkClaims(info);
});

const oldRefresh = tokens.refresh_token;
let refreshed;
if (!oldRefresh) {
  notOk('refresh token issued with the code', 'no refresh_token in the token response');
} else {
  refreshed = await check('refresh token grant returns new tokens', async () => {
    const t = await client.refreshTokenGrant(config, oldRefresh);
    assert(t.access_token && t.access_token !== tokens.access_token, 'no new access_token');
    if (t.id_token) assert(t.claims().sub === idClaims.sub, 'refreshed ID token has another sub');
    return t;
  });
}
if (refreshed) {
  await check('userinfo works with the refreshed access token', () => client.fetchUserInfo(config, refreshed.access_token, idClaims.sub));
  if (env.EXPECT_REFRESH_ROTATION === '1') {
    await check('refresh token rotated', () => assert(refreshed.refresh_token && refreshed.refresh_token !== oldRefresh, 'same or no refresh_token returned'));
    await refused('old refresh token rejected after rotation', () => client.refreshTokenGrant(config, oldRefresh));
    if (env.EXPECT_REUSE_REVOKES_FAMILY === '1' && refreshed.refresh_token) {
      await refused('replay of the old refresh token revoked the new one too', () => client.refreshTokenGrant(config, refreshed.refresh_token));
    }
  }
}

await refused('authorization code is single-use', () => client.authorizationCodeGrant(
  config,
  new URL(callbackUrl),
  { pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce, idTokenExpected: true },
));

finish();
