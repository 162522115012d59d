// An agency app (Node.js, openid-client 6) that registers itself at the Vĩnh Long gateway with
// private_key_jwt, then signs a citizen in with the authorization code flow, PKCE and nonce.
//
//   GATEWAY_ISSUER=https://id.vinhlong.gov.vn INITIAL_ACCESS_TOKEN=... \
//   REDIRECT_URI=https://app.example.vn/callback node sign-in.mjs
//
// It prints one JSON line with the authorization URL to open in a browser, then reads the URL
// the browser was sent back to (the redirect_uri with code, state and iss) from standard input,
// and prints the verified ID token claims and the UserInfo response as a second JSON line.
// With offline access (scope offline_access, prompt=consent) it then refreshes the tokens once
// (the refresh token is rotated) and revokes the new refresh token, as an app does at sign-out.
import { createInterface } from 'node:readline';
import * as client from 'openid-client';

const issuer = new URL(process.env.GATEWAY_ISSUER);
const redirectUri = process.env.REDIRECT_URI;

// 1. A key pair for private_key_jwt: the gateway only ever sees the public half.
const { privateKey, publicKey } = await crypto.subtle.generateKey(
  { name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify']);
const kid = 'agency-key-1';
const publicJwk = { ...(await crypto.subtle.exportKey('jwk', publicKey)), kid, use: 'sig', alg: 'ES256' };

// Plain http is for a gateway running on your own machine only.
const execute = issuer.protocol === 'http:' ? [client.allowInsecureRequests] : [];

// 2. Dynamic registration (RFC 7591) with the initial access token the gateway's administrator
//    issued to your agency. Keep config.clientMetadata().client_id: it identifies your app.
const config = await client.dynamicClientRegistration(
  issuer,
  {
    client_name: 'Ứng dụng mẫu (Node.js)',
    redirect_uris: [redirectUri],
    token_endpoint_auth_method: 'private_key_jwt',
    token_endpoint_auth_signing_alg: 'ES256',
    jwks: { keys: [publicJwk] },
    scope: 'openid profile offline_access',
    grant_types: ['authorization_code', 'refresh_token'],
  },
  client.PrivateKeyJwt({ key: privateKey, kid }),
  { initialAccessToken: process.env.INITIAL_ACCESS_TOKEN, execute },
);
// Verify the ID token's signature against the gateway's jwks_uri too (openid-client otherwise
// trusts the TLS connection to the token endpoint, which OIDC Core §3.1.3.7 allows).
client.enableNonRepudiationChecks(config);

// 3. The authorization request: PKCE S256, state and nonce kept in your session.
const codeVerifier = client.randomPKCECodeVerifier();
const state = client.randomState();
const nonce = client.randomNonce();
const authorizationUrl = client.buildAuthorizationUrl(config, {
  redirect_uri: redirectUri,
  // offline_access counts only with prompt=consent (OIDC Core §11): the citizen is asked.
  scope: 'openid profile offline_access',
  prompt: 'consent',
  code_challenge: await client.calculatePKCECodeChallenge(codeVerifier),
  code_challenge_method: 'S256',
  state,
  nonce,
});
console.log(JSON.stringify({
  client_id: config.clientMetadata().client_id,
  authorization_url: authorizationUrl.href,
}));

// 4. Back at the redirect_uri: exchange the code. openid-client checks state, iss (RFC 9207),
//    the ID token (signature, iss, aud, exp, iat, nonce) and the PKCE verifier.
const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
const callbackUrl = new URL((await lines.next()).value.trim());
const tokens = await client.authorizationCodeGrant(config, callbackUrl, {
  pkceCodeVerifier: codeVerifier,
  expectedState: state,
  expectedNonce: nonce,
  idTokenExpected: true,
});
const claims = tokens.claims();
const userinfo = await client.fetchUserInfo(config, tokens.access_token, claims.sub);

// 5. Later, without the citizen: new tokens from the refresh token. Each refresh token works
//    once: store the new one every time (a reused one revokes the whole sign-in).
const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token);
const refreshedClaims = refreshed.claims();

// 6. At sign-out (or when the citizen unlinks the app): revoke the refresh token (RFC 7009).
await client.tokenRevocation(config, refreshed.refresh_token, { token_type_hint: 'refresh_token' });
// From now on the gateway refuses it: the citizen must sign in again.
const revokedError = await client.refreshTokenGrant(config, refreshed.refresh_token)
  .then(() => null, (error) => error.error);

console.log(JSON.stringify({
  id_token_claims: claims,
  userinfo,
  rotated: refreshed.refresh_token !== tokens.refresh_token,
  refreshed_id_token_claims: refreshedClaims,
  revoked_refresh_token_error: revokedError,
}));
process.exit(0);
