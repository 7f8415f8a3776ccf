"""JWT verification: `TokenVerifier` (every claim), `JwksCache` (keys, refetch with cooldown),
`CachingVerifier` (verify a token once), and the claim helpers of `claims`."""
