// The state's OpenID provider, for the sign-in tests: the OpenID-certified `oidc-provider`
// package, configured from a JSON file the tests write (issuer, port, signing keys,
// clients, accounts, lifetimes). Its development login form accepts any password for a
// known account; everything else (discovery, JWKS, PKCE, ID tokens, client credentials,
// device codes, refresh, RP-initiated logout) is the package's own certified code.
import { readFileSync } from 'node:fs';
import Provider, { errors } from 'oidc-provider';

const cfg = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const hubClients = new Set(cfg.hub_clients || []);

const provider = new Provider(cfg.issuer, {
  clients: cfg.clients,
  clientDefaults: { id_token_signed_response_alg: 'ES256', grant_types: ['authorization_code'] },
  jwks: cfg.jwks,
  cookies: { keys: ['sign-in-tests-only'] },
  pkce: { required: () => true },
  // Scope "staff" carries the claims the agencies map to a staff id and a role.
  claims: { openid: ['sub'], profile: ['name'], staff: ['employee_id', 'groups', 'roles'] },
  conformIdTokenClaims: false,
  findAccount: async (ctx, sub) => {
    const claims = cfg.accounts[sub];
    if (!claims) return undefined;
    return { accountId: sub, claims: async () => ({ sub, ...claims }) };
  },
  // Staff have agreed to the state's terms once: no consent screen for first-party apps.
  loadExistingGrant: async (ctx) => {
    const grant = new ctx.oidc.provider.Grant({
      clientId: ctx.oidc.client.clientId,
      accountId: ctx.oidc.session.accountId,
    });
    grant.addOIDCScope('openid profile staff offline_access');
    if (hubClients.has(ctx.oidc.client.clientId)) grant.addResourceScope(ctx.oidc.params.resource || 'urn:pprl:hub', 'hub');
    await grant.save();
    return grant;
  },
  extraTokenClaims: async (ctx, token) => {
    if (token.kind === 'ClientCredentials') return { roles: cfg.client_roles[token.clientId] || [] };
    const account = cfg.accounts[token.accountId];
    return account && account.roles ? { roles: account.roles } : undefined;
  },
  features: {
    devInteractions: { enabled: true },
    clientCredentials: { enabled: true },
    deviceFlow: { enabled: true },
    rpInitiatedLogout: { enabled: true },
    revocation: { enabled: true },
    resourceIndicators: {
      enabled: true,
      // The hub is named by its URL (what the commands' --hub gives); tokens for it say
      // aud=pprl-hub, the audience the hub checks.
      defaultResource: (ctx, client, oneOf) => oneOf || (hubClients.has(client.clientId) ? 'urn:pprl:hub' : undefined),
      useGrantedResource: () => true,
      getResourceServerInfo: (ctx, resource, client) => {
        if (!hubClients.has(client.clientId)) throw new errors.InvalidTarget();
        return {
          scope: 'hub',
          audience: cfg.hub_audience,
          accessTokenTTL: cfg.access_token_seconds,
          accessTokenFormat: 'jwt',
          jwt: { sign: { alg: 'ES256' } },
        };
      },
    },
  },
  ttl: {
    AccessToken: cfg.access_token_seconds,
    ClientCredentials: cfg.access_token_seconds,
    IdToken: cfg.id_token_seconds,
    RefreshToken: 3600,
    DeviceCode: 600,
    Session: 3600,
    Grant: 3600,
    Interaction: 600,
  },
});
provider.proxy = false;
provider.on('server_error', (ctx, err) => console.error('server_error', err));
provider.listen(cfg.port, '127.0.0.1', () => console.log('ready'));
