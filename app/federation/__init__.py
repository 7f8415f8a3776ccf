"""Federated sign-in (Google, Facebook, any OpenID Connect provider): `router` (the two
routes), `flow` (the sealed flow cookie), `redirects` (where a browser may be sent),
`provider` (the `FederatedSignIn` Protocol), `service` (its local-pool and Cognito
implementations), `oidc` and `discovery` (the local pool's OIDC client), `cognito` (the user
pool's domain), `oauth2` (the OAuth requests both share), `factory` (from settings)."""
