// A real OpenID Provider for mamori's tests: panva's oidc-provider (the
// certified Node.js implementation), configured from a fixture and started
// on a loopback port. It signs people in from the fixture's accounts, never
// from a network directory. Its keys are generated at every start, so a
// restart is a key rotation (a new `kid`).
//
//   node op.mjs FIXTURE.json
//
// prints `issuer http://127.0.0.1:PORT` on stdout once it listens.
//
// FIXTURE.json:
//   { "port": 0,
//     "clients": [ { "client_id", "client_secret", "redirect_uris",
//                    "id_token_signed_response_alg" } ],
//     "accounts": { "<sub>": { "preferred_username", "name", "groups",
//                              "tid", "oid", "mfa": true|false } } }
//
// Interactions: GET /interaction/:uid shows a sign-in form (an account name
// and a one-time-code box for accounts with MFA); with `login_hint` naming a
// fixture account the sign-in is completed at once (for HTTP-only tests).
// An account signs in with acr `urn:mamori:mfa` and amr ["pwd","otp"] when it
// has MFA and the form's code box was filled or `acr_values` asked for it;
// otherwise acr `urn:mamori:pwd` and amr ["pwd"].
//
// POST /test/mint signs an arbitrary ID token for tests of the relying
// party's checks: { "claims": {...}, "alg": "RS256"|"PS256"|"ES256"|"EdDSA"
// |"HS256-public"|"none"|"foreign", "kid": optional override }. It exists only
// in this test provider.

import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { randomUUID } from 'node:crypto';

import Provider from 'oidc-provider';
import * as jose from 'jose';

const fixture = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const MFA = 'urn:mamori:mfa';
const PWD = 'urn:mamori:pwd';

async function key(alg, extra = {}) {
  const { privateKey, publicKey } = await jose.generateKeyPair(alg, { extractable: true, ...extra });
  const jwk = await jose.exportJWK(privateKey);
  jwk.kid = randomUUID();
  jwk.alg = alg;
  jwk.use = 'sig';
  return { jwk, privateKey, publicKey };
}

const signing = {
  RS256: await key('RS256', { modulusLength: 2048 }),
  PS256: await key('PS256', { modulusLength: 2048 }),
  ES256: await key('ES256'),
  EdDSA: await key('EdDSA', { crv: 'Ed25519' }),
};
// Never published: tokens signed with it must be refused.
const foreign = await key('RS256', { modulusLength: 2048 });

const server = createServer();
await new Promise((ok) => server.listen(fixture.port ?? 0, '127.0.0.1', ok));
const issuer = `http://127.0.0.1:${server.address().port}`;

const accounts = fixture.accounts ?? {};

const provider = new Provider(issuer, {
  clients: fixture.clients.map((c) => ({
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
    require_auth_time: true,
    ...c,
  })),
  jwks: { keys: Object.values(signing).map((k) => k.jwk) },
  enabledJWA: {
    idTokenSigningAlgValues: ['RS256', 'PS256', 'ES256', 'EdDSA'],
  },
  pkce: { required: () => true },
  acrValues: [PWD, MFA],
  scopes: ['openid', 'profile', 'groups'],
  claims: {
    openid: ['sub', 'amr'],
    profile: ['name', 'preferred_username', 'tid', 'oid'],
    groups: ['groups'],
  },
  conformIdTokenClaims: false,
  features: { devInteractions: { enabled: false }, claimsParameter: { enabled: true } },
  ttl: { IdToken: 300, AccessToken: 300, AuthorizationCode: 60, Interaction: 600, Session: 3600, Grant: 3600 },
  cookies: { keys: [randomUUID()] },
  findAccount: async (_ctx, sub) => {
    const a = accounts[sub];
    if (!a) return undefined;
    return {
      accountId: sub,
      claims: async () => ({ sub, name: a.name, preferred_username: a.preferred_username, groups: a.groups, tid: a.tid, oid: a.oid }),
    };
  },
  // First-party client: consent is implied.
  loadExistingGrant: async (ctx) => {
    const { Grant } = ctx.oidc.provider;
    const grant = new Grant({ clientId: ctx.oidc.client.clientId, accountId: ctx.oidc.session.accountId });
    grant.addOIDCScope('openid profile groups');
    await grant.save();
    return grant;
  },
  renderError: async (ctx, out) => {
    ctx.type = 'text/plain';
    ctx.body = `error: ${out.error}: ${out.error_description ?? ''}`;
  },
});
provider.proxy = false;

function page(uid, account, error) {
  const note = error ? `<p role="alert">${error}</p>` : '';
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Test IdP sign-in</title></head>
<body><main><h1>Test IdP</h1>${note}
<form method="post" action="/interaction/${uid}/login">
<label>Account <input name="login" autocomplete="off" value="${account ?? ''}"></label>
<label>One-time code <input name="otp" autocomplete="off"></label>
<button type="submit">Sign in</button></form></main></body></html>`;
}

function signInResult(sub, wantsMfa) {
  const mfa = accounts[sub].mfa === true && wantsMfa;
  return { login: { accountId: sub, acr: mfa ? MFA : PWD, amr: mfa ? ['pwd', 'otp'] : ['pwd'], remember: false } };
}

async function form(ctx) {
  const chunks = [];
  for await (const c of ctx.req) chunks.push(c);
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

function requestedMfa(details) {
  const acr = details.params.acr_values ?? '';
  return acr.split(' ').includes(MFA);
}

provider.use(async (ctx, next) => {
  const m = ctx.path.match(/^\/interaction\/([^/]+)(\/login)?$/);
  if (m) {
    const details = await provider.interactionDetails(ctx.req, ctx.res);
    if (details.prompt.name !== 'login') {
      ctx.status = 400;
      ctx.body = `unexpected prompt ${details.prompt.name}`;
      return;
    }
    const hint = details.params.login_hint;
    if (ctx.method === 'GET' && hint && accounts[hint]) {
      await provider.interactionFinished(ctx.req, ctx.res, signInResult(hint, requestedMfa(details)), { mergeWithLastSubmission: false });
      ctx.respond = false;
      return;
    }
    if (ctx.method === 'GET') {
      ctx.type = 'html';
      ctx.body = page(m[1], hint);
      return;
    }
    const f = await form(ctx);
    const sub = f.get('login') ?? '';
    if (!accounts[sub]) {
      ctx.type = 'html';
      ctx.body = page(m[1], '', 'Unknown account');
      return;
    }
    const wantsMfa = (f.get('otp') ?? '') !== '' || requestedMfa(details);
    await provider.interactionFinished(ctx.req, ctx.res, signInResult(sub, wantsMfa), { mergeWithLastSubmission: false });
    ctx.respond = false;
    return;
  }
  if (ctx.path === '/test/mint' && ctx.method === 'POST') {
    const chunks = [];
    for await (const c of ctx.req) chunks.push(c);
    const { claims, alg, kid } = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    ctx.type = 'text/plain';
    ctx.body = await mint(claims, alg, kid);
    return;
  }
  await next();
});

async function mint(claims, alg, kid) {
  const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
  if (alg === 'none') {
    return `${b64({ alg: 'none', typ: 'JWT' })}.${b64(claims)}.`;
  }
  if (alg === 'HS256-public') {
    // The classic confusion: the published RSA key used as an HMAC secret.
    const k = signing.RS256;
    const secret = new TextEncoder().encode(JSON.stringify(await jose.exportJWK(k.publicKey)));
    return new jose.SignJWT(claims).setProtectedHeader({ alg: 'HS256', kid: kid ?? k.jwk.kid }).sign(secret);
  }
  const k = alg === 'foreign' ? foreign : signing[alg];
  return new jose.SignJWT(claims)
    .setProtectedHeader({ alg: k.jwk.alg, kid: kid ?? k.jwk.kid, typ: 'JWT' })
    .sign(k.privateKey);
}

server.on('request', provider.callback());
process.stdout.write(`issuer ${issuer}\n`);
process.on('SIGTERM', () => server.close(() => process.exit(0)));
