// End-to-end run of monban with openid-client 6, driven by the Go test
// TestOpenIDClientDPoP (cmd/monban/e2e_openid_client_test.go).
//
// Environment: ISSUER, CLIENT_ID, REDIRECT_URI, CLIENT_JWK (the private
// JWK of the client's private_key_jwt key, JSON).
// Protocol on stdio, one line each:
//   script → test: AUTHORIZE <authorization URL after PAR>
//   test → script: <the redirect URI the provider sent the browser to>
//   script → test: RESULT <JSON with what the flow returned>
// Any failure is printed to stderr and exits 1.
import * as readline from 'node:readline'
import * as client from 'openid-client'

const { ISSUER, CLIENT_ID, REDIRECT_URI, CLIENT_JWK } = process.env
const lines = readline.createInterface({ input: process.stdin })[Symbol.asyncIterator]()

async function main() {
  const jwk = JSON.parse(CLIENT_JWK)
  const signingKey = await crypto.subtle.importKey('jwk', jwk, { name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign'])
  // private_key_jwt (RFC 7523 §2.2); the test server is plain HTTP on loopback.
  const config = await client.discovery(new URL(ISSUER), CLIENT_ID, { redirect_uris: [REDIRECT_URI] },
    client.PrivateKeyJwt({ key: signingKey, kid: jwk.kid }), { execute: [client.allowInsecureRequests] })
  const meta = config.serverMetadata()
  if (!meta.dpop_signing_alg_values_supported?.includes('ES256')) {
    throw new Error('discovery does not advertise DPoP with ES256')
  }

  // The DPoP key of this client instance (RFC 9449 §4).
  const dpop = client.getDPoPHandle(config, await client.randomDPoPKeyPair('ES256'))

  // PAR (RFC 9126) with PKCE and state.
  const verifier = client.randomPKCECodeVerifier()
  const state = client.randomState()
  const authURL = await client.buildAuthorizationUrlWithPAR(config, {
    redirect_uri: REDIRECT_URI, scope: 'openid profile offline_access', state,
    code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256',
  })
  if (!authURL.searchParams.get('request_uri')?.startsWith('urn:ietf:params:oauth:request_uri:')) {
    throw new Error(`no request_uri from PAR: ${authURL}`)
  }
  console.log(`AUTHORIZE ${authURL.href}`)
  const { value: callback, done } = await lines.next()
  if (done) throw new Error('the test sent no callback URL')

  // Code exchange with a DPoP proof: the access token is bound (token_type DPoP).
  const tokens = await client.authorizationCodeGrant(config, new URL(callback),
    { pkceCodeVerifier: verifier, expectedState: state }, undefined, { DPoP: dpop })
  const sub = tokens.claims()?.sub
  // Refresh with DPoP.
  const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token, undefined, { DPoP: dpop })
  // UserInfo with the DPoP-bound access token and a proof.
  const userinfo = await client.fetchUserInfo(config, refreshed.access_token, sub, { DPoP: dpop })

  // The same token without its proof is refused: as a Bearer token, and
  // with the DPoP scheme but no proof.
  let bearerRefused = ''
  try {
    await client.fetchUserInfo(config, refreshed.access_token, sub)
  } catch (err) {
    bearerRefused = err.cause?.status ? String(err.cause.status) : (err.status ? String(err.status) : err.code ?? String(err))
  }
  const noProof = await fetch(meta.userinfo_endpoint, { headers: { Authorization: `DPoP ${refreshed.access_token}` } })

  console.log('RESULT ' + JSON.stringify({
    sub,
    token_type: tokens.token_type,
    refreshed_token_type: refreshed.token_type,
    rotated: refreshed.refresh_token !== tokens.refresh_token,
    userinfo_sub: userinfo.sub,
    access_token: refreshed.access_token,
    bearer_refused: bearerRefused,
    no_proof_status: noProof.status,
    no_proof_challenge: noProof.headers.get('www-authenticate'),
  }))
}

main().then(() => process.exit(0), (err) => {
  console.error(`openid-client flow failed: ${err?.stack ?? err}`)
  if (err?.cause) console.error('cause:', err.cause)
  process.exit(1)
})
