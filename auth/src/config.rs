//! The auth service's settings. Flattened into the `rialto` command line by `api/src/cli.rs`;
//! tests build it in code with [`AuthConfig::default`].

use std::num::NonZeroU32;

use clap::Args;
use secrecy::SecretString;

/// Settings of the auth service.
#[derive(Debug, Clone, Args)]
pub struct AuthConfig {
    /// `iss` of issued access tokens, checked on verification.
    #[arg(
        long = "jwt-issuer",
        env = "RIALTO_JWT_ISSUER",
        default_value = "rialto"
    )]
    pub issuer: String,

    /// `aud` of issued access tokens, checked on verification.
    #[arg(
        long = "jwt-audience",
        env = "RIALTO_JWT_AUDIENCE",
        default_value = "rialto-api"
    )]
    pub audience: String,

    /// Ed25519 private key (PKCS#8 PEM) that signs access tokens. Required in the distributed
    /// mode; in the embedded mode a key is generated under `--data-dir` when this is unset.
    #[arg(
        long = "jwt-signing-key",
        env = "RIALTO_JWT_SIGNING_KEY",
        hide_env_values = true
    )]
    pub signing_key: Option<SecretString>,

    /// Public keys (PEM, concatenated) of retired signing keys, still accepted for tokens
    /// issued before a rotation.
    #[arg(
        long = "jwt-retired-public-keys",
        env = "RIALTO_JWT_RETIRED_PUBLIC_KEYS"
    )]
    pub retired_public_keys: Option<String>,

    /// Lifetime of an access token, in seconds.
    #[arg(
        long = "access-token-ttl-secs",
        env = "RIALTO_ACCESS_TOKEN_TTL_SECS",
        default_value_t = 300
    )]
    pub access_token_ttl_secs: u32,

    /// Lifetime of a refresh token, in days (renewed by each rotation).
    #[arg(
        long = "refresh-token-ttl-days",
        env = "RIALTO_REFRESH_TOKEN_TTL_DAYS",
        default_value_t = 14
    )]
    pub refresh_token_ttl_days: u32,

    /// Login attempts allowed per account from one client address per minute. An address
    /// that spends them is refused for that account only: the owner, from another address,
    /// still signs in.
    #[arg(
        long = "login-attempts-per-account",
        env = "RIALTO_LOGIN_ATTEMPTS_PER_ACCOUNT",
        default_value = "10"
    )]
    pub login_attempts_per_account: NonZeroU32,

    /// Login attempts allowed per account per minute from all addresses together: the cap
    /// on a guesser spread over many addresses. Looser than the per-address limit, so one
    /// attacker cannot lock the owner out.
    #[arg(
        long = "login-attempts-per-account-total",
        env = "RIALTO_LOGIN_ATTEMPTS_PER_ACCOUNT_TOTAL",
        default_value = "100"
    )]
    pub login_attempts_per_account_total: NonZeroU32,

    /// Login and sign-up attempts allowed per client address per minute, whatever the
    /// accounts (an IPv6 address counts by its /64).
    #[arg(
        long = "login-attempts-per-ip",
        env = "RIALTO_LOGIN_ATTEMPTS_PER_IP",
        default_value = "60"
    )]
    pub login_attempts_per_ip: NonZeroU32,

    /// Sign-ups allowed per client address per hour. Registering a taken email says so, so
    /// this also bounds how fast one address can probe which emails have accounts.
    #[arg(
        long = "registrations-per-address",
        env = "RIALTO_REGISTRATIONS_PER_ADDRESS",
        default_value = "10"
    )]
    pub registrations_per_address: NonZeroU32,

    /// Password hashes (argon2id, 19 MiB each) computed at once. Past it, sign-up, login
    /// and password changes answer `RATE_LIMITED` (retry after 1 s) instead of queueing.
    #[arg(
        long = "max-concurrent-password-hashes",
        env = "RIALTO_MAX_CONCURRENT_PASSWORD_HASHES",
        default_value = "16"
    )]
    pub max_concurrent_password_hashes: NonZeroU32,

    /// Seconds after a refresh token is exchanged during which presenting it again (a
    /// client that lost the response retrying) gets a fresh pair once instead of revoking
    /// the session; the unused successor is revoked. 0 disables it.
    #[arg(
        long = "refresh-grace-secs",
        env = "RIALTO_REFRESH_GRACE_SECS",
        default_value_t = 10
    )]
    pub refresh_grace_secs: u32,
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self {
            issuer: "rialto".into(),
            audience: "rialto-api".into(),
            signing_key: None,
            retired_public_keys: None,
            access_token_ttl_secs: 300,
            refresh_token_ttl_days: 14,
            login_attempts_per_account: NonZeroU32::new(10).unwrap_or(NonZeroU32::MIN),
            login_attempts_per_account_total: NonZeroU32::new(100).unwrap_or(NonZeroU32::MIN),
            login_attempts_per_ip: NonZeroU32::new(60).unwrap_or(NonZeroU32::MIN),
            registrations_per_address: NonZeroU32::new(10).unwrap_or(NonZeroU32::MIN),
            max_concurrent_password_hashes: NonZeroU32::new(16).unwrap_or(NonZeroU32::MIN),
            refresh_grace_secs: 10,
        }
    }
}
