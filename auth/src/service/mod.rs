//! The auth use cases, one method each. Methods own their transaction and their span; they
//! take the caller's [`Identity`] and [`RequestMeta`] explicitly and know nothing of GraphQL.

use std::sync::{Arc, OnceLock};

use anyhow::Context;
use chrono::{DateTime, Duration, Utc};
use common::{Credential, Identity, RequestMeta, Role, Scope};
use sea_orm::{DatabaseConnection, TransactionTrait};
use uuid::Uuid;

use crate::{
    AuthConfig, AuthError, KeySet,
    domain::{
        ApiKey, User, email, password, secrets,
        user::{normalize_display_name, normalize_key_name},
    },
    limits::{HashingPermits, Throttle},
    revocation::{REVOCATION_TOPIC, Revocation, RevocationList},
    store::{self, session_logs::SessionEvent},
};

/// Most unrevoked API keys one account may hold.
pub const MAX_ACTIVE_API_KEYS: u64 = 25;

/// API key use is written back at most this often, so a busy bot does not write per request.
const KEY_TOUCH_INTERVAL: Duration = Duration::seconds(60);

/// What a successful register, login or refresh returns.
#[derive(Debug, Clone)]
pub struct Session {
    /// A short-lived JWT.
    pub access_token: String,
    /// When the access token expires.
    pub access_token_expires_at: DateTime<Utc>,
    /// The opaque, single-use refresh token.
    pub refresh_token: String,
    /// The account.
    pub user: User,
}

/// A newly created key and its secret, which is never shown again.
#[derive(Debug, Clone)]
pub struct CreatedApiKey {
    /// The key as listed.
    pub key: ApiKey,
    /// The full key, for `Authorization: Bearer`.
    pub secret: String,
}

/// The auth service: cheap to clone, shared by every request.
#[derive(Clone, Debug)]
pub struct AuthService {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    db: DatabaseConnection,
    keys: KeySet,
    config: AuthConfig,
    throttle: Throttle,
    hashing: HashingPermits,
    /// Sessions and keys revoked before their time; the edge refuses them.
    revocations: Arc<RevocationList>,
    /// Where revocations are announced to the other replicas, once set.
    announcer: Announcer,
    /// Valid API keys by hash, each trusted for [`KEY_CACHE_TTL`] (a revocation here ends
    /// that at once): a bot's every request need not cost two queries.
    known_keys: quick_cache::sync::Cache<String, (std::time::Instant, Identity)>,
    /// API keys looked up in the database.
    key_lookups: std::sync::atomic::AtomicU64,
}

/// How long a valid API key is trusted without asking the database again.
const KEY_CACHE_TTL: std::time::Duration = std::time::Duration::from_secs(5);

/// The bus revocations are published on (none until [`AuthService::announce_on`]).
#[derive(Default)]
struct Announcer(OnceLock<Arc<dyn bus::EventBus>>);

impl std::fmt::Debug for Announcer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Announcer(..)")
    }
}

/// The longest a revocation waits for the bus; the act itself has already succeeded.
const ANNOUNCE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);

/// A session token may do everything its user may.
const SESSION_SCOPES: [Scope; 2] = [Scope::Read, Scope::Trade];

impl AuthService {
    /// A service over a migrated database and a key set; its login and sign-up limits count
    /// in this process.
    pub fn new(db: DatabaseConnection, keys: KeySet, config: AuthConfig) -> Self {
        Self::with_limits(db, keys, config, None)
    }

    /// A service whose login and sign-up limits count in `shared` (Redis: shared by every
    /// replica), and in this process only while `shared` fails.
    pub fn new_shared(
        db: DatabaseConnection,
        keys: KeySet,
        config: AuthConfig,
        shared: Arc<dyn bus::Cache>,
    ) -> Self {
        Self::with_limits(db, keys, config, Some(shared))
    }

    fn with_limits(
        db: DatabaseConnection,
        keys: KeySet,
        config: AuthConfig,
        shared: Option<Arc<dyn bus::Cache>>,
    ) -> Self {
        let mut throttle = Throttle::new(&config);
        if let Some(shared) = shared {
            throttle = throttle.with_shared(shared);
        }
        let hashing = HashingPermits::new(config.max_concurrent_password_hashes);
        Self {
            inner: Arc::new(Inner {
                db,
                keys,
                config,
                throttle,
                revocations: Arc::new(RevocationList::new()),
                announcer: Announcer::default(),
                known_keys: quick_cache::sync::Cache::new(10_000),
                key_lookups: std::sync::atomic::AtomicU64::new(0),
                hashing,
            }),
        }
    }

    /// Publishes every revocation on `bus` from now on, so the other replicas' edges learn
    /// of it ([`crate::revocation`]). Set once, at start-up; a second call is ignored.
    pub fn announce_on(&self, bus: Arc<dyn bus::EventBus>) {
        let _ = self.inner.announcer.0.set(bus);
    }

    /// The revocations this service has made (and, in one process, the edge checks).
    pub fn revocations(&self) -> &Arc<RevocationList> {
        &self.inner.revocations
    }

    /// Records a revocation here at once and announces it to the other replicas. A bus
    /// failure is logged, not returned: the act is committed, this replica already refuses
    /// the credential, and the others refuse it when it expires or their key cache lapses.
    async fn revoked(&self, revocation: Revocation) {
        self.inner.revocations.apply(&revocation);
        let Some(bus) = self.inner.announcer.0.get() else {
            return;
        };
        let payload = match serde_json::to_vec(&revocation) {
            Ok(p) => bytes::Bytes::from(p),
            Err(e) => {
                tracing::error!(error = %e, "encoding a revocation");
                return;
            }
        };
        match tokio::time::timeout(ANNOUNCE_TIMEOUT, bus.publish(REVOCATION_TOPIC, payload)).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::warn!(error = %e, "announcing a revocation failed"),
            Err(_) => tracing::warn!("announcing a revocation timed out"),
        }
    }

    /// Runs a password hash or check on the blocking pool, under a hashing permit held until
    /// the work ends (even if the caller has gone), so at most
    /// `max_concurrent_password_hashes` run at once.
    ///
    /// # Errors
    /// [`AuthError::RateLimited`] (retry after 1 s) when every permit is taken.
    async fn hashing<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, AuthError> {
        let permit = self.inner.hashing.try_acquire()?;
        tokio::task::spawn_blocking(move || {
            let out = f();
            drop(permit);
            out
        })
        .await
        .context("password hashing task")
        .map_err(AuthError::Internal)
    }

    /// The database, for readiness checks.
    pub fn db(&self) -> &DatabaseConnection {
        &self.inner.db
    }

    /// The signing and verification keys (JWKS, token verification elsewhere).
    pub fn keys(&self) -> &KeySet {
        &self.inner.keys
    }

    fn now() -> DateTime<Utc> {
        Utc::now()
    }

    /// Issues an access token and a refresh token in `family_id`, storing the latter's hash.
    async fn open_session(
        &self,
        db: &impl sea_orm::ConnectionTrait,
        user: User,
        family_id: Uuid,
        now: DateTime<Utc>,
    ) -> Result<Session, AuthError> {
        let refresh_token = secrets::new_refresh_token();
        let expires = now + Duration::days(i64::from(self.inner.config.refresh_token_ttl_days));
        store::refresh_tokens::insert(
            db,
            user.id,
            family_id,
            &secrets::hash(&refresh_token),
            now,
            expires,
        )
        .await?;
        let (access_token, access_token_expires_at) = self.inner.keys.issue(
            user.id,
            user.role,
            &SESSION_SCOPES,
            Some(family_id),
            now,
            self.inner.config.access_token_ttl_secs,
        )?;
        Ok(Session {
            access_token,
            access_token_expires_at,
            refresh_token,
            user,
        })
    }

    /// Creates an account and signs it in.
    #[tracing::instrument(skip_all)]
    pub async fn register(
        &self,
        raw_email: &str,
        new_password: &str,
        display_name: &str,
        meta: &RequestMeta,
    ) -> Result<Session, AuthError> {
        // Throttle first: every later step (zxcvbn, argon2) costs CPU.
        self.inner
            .throttle
            .check_address(meta.ip.as_deref())
            .await?;
        let email = email::normalize(raw_email)?;
        let display_name = normalize_display_name(display_name)?;
        let local_part = email.split('@').next().unwrap_or_default().to_string();
        password::check_policy(new_password, &[&email, &local_part, &display_name])?;
        // Valid input from here on, whose answer may say the email is taken: bounded per
        // address, so nobody learns quickly which emails have accounts.
        self.inner
            .throttle
            .check_registration(meta.ip.as_deref())
            .await?;
        let pw = new_password.to_string();
        let hash = self.hashing(move || password::hash(&pw)).await??;

        let now = Self::now();
        let txn = self.inner.db.begin().await?;
        let user =
            store::users::insert(&txn, &email, &display_name, &hash, Role::Trader, now).await?;
        store::session_logs::record(&txn, Some(user.id), SessionEvent::Register, meta, None, now)
            .await?;
        let session = self.open_session(&txn, user, Uuid::now_v7(), now).await?;
        txn.commit().await?;
        metrics::counter!("rialto_auth_registrations_total").increment(1);
        Ok(session)
    }

    /// Signs in with email and password. Unknown email and wrong password are the same
    /// error, after the same argon2 work.
    #[tracing::instrument(skip_all)]
    pub async fn login(
        &self,
        raw_email: &str,
        given_password: &str,
        meta: &RequestMeta,
    ) -> Result<Session, AuthError> {
        // A malformed email cannot have an account: answer like any other failed login.
        // (Bounded, so hostile input cannot grow the throttle's key table without limit.)
        let email = email::normalize(raw_email).unwrap_or_else(|_| {
            raw_email
                .trim()
                .to_lowercase()
                .chars()
                .take(email::MAX_EMAIL_LEN)
                .collect()
        });
        self.inner
            .throttle
            .check_login(&email, meta.ip.as_deref())
            .await?;
        if given_password.chars().count() > password::MAX_LEN {
            // Never hash unbounded input; still spend the time a real check would.
            let _ = self
                .hashing(|| password::verify("x", password::dummy_hash()))
                .await?;
            return self.fail_login(None, meta).await;
        }

        let found = store::users::find_by_email(&self.inner.db, &email).await?;
        let hash = found
            .as_ref()
            .map(|u| u.password_hash.clone())
            .unwrap_or_else(|| password::dummy_hash().to_string());
        let pw = given_password.to_string();
        let ok = self.hashing(move || password::verify(&pw, &hash)).await?;
        let user = match found {
            Some(u) if ok => u.user,
            other => return self.fail_login(other.map(|u| u.user.id), meta).await,
        };

        let now = Self::now();
        let txn = self.inner.db.begin().await?;
        store::session_logs::record(&txn, Some(user.id), SessionEvent::Login, meta, None, now)
            .await?;
        let session = self.open_session(&txn, user, Uuid::now_v7(), now).await?;
        txn.commit().await?;
        metrics::counter!("rialto_auth_logins_total", "outcome" => "success").increment(1);
        Ok(session)
    }

    async fn fail_login<T>(
        &self,
        user_id: Option<Uuid>,
        meta: &RequestMeta,
    ) -> Result<T, AuthError> {
        store::session_logs::record(
            &self.inner.db,
            user_id,
            SessionEvent::LoginFailed,
            meta,
            None,
            Self::now(),
        )
        .await?;
        metrics::counter!("rialto_auth_logins_total", "outcome" => "failure").increment(1);
        Err(AuthError::InvalidCredentials)
    }

    /// Exchanges a refresh token for a new pair. The presented token is spent; presenting a
    /// spent token again revokes its whole family (RFC 9700 reuse detection), except once
    /// within `refresh_grace_secs` of its exchange while its successor is still unused: a
    /// client that lost the response and retries gets a fresh pair, and the unused successor
    /// is revoked, so one live token remains (RFC 9700 §4.14.2). Should that revoked
    /// successor be presented later, its response was not lost after all: two parties hold
    /// the session, and the family is revoked.
    ///
    /// Everything that decides runs under the owner's refresh lock
    /// ([`store::refresh_tokens::lock_user`]), on the token as it is then: a concurrent
    /// refresh or revocation of the family has either finished or not begun, so a
    /// revocation never misses a member a refresh inserts.
    #[tracing::instrument(skip_all)]
    pub async fn refresh(&self, token: &str, meta: &RequestMeta) -> Result<Session, AuthError> {
        let db = &self.inner.db;
        let token_hash = secrets::hash(token);
        let Some(found) = store::refresh_tokens::find_by_hash(db, &token_hash).await? else {
            return Err(AuthError::InvalidRefreshToken);
        };
        if found.expires_at <= Self::now() {
            return Err(AuthError::InvalidRefreshToken);
        }

        let txn = store::refresh_tokens::begin(db).await?;
        store::refresh_tokens::lock_user(&txn, found.user_id).await?;
        let now = Self::now();
        let stored = match store::refresh_tokens::find_by_hash(&txn, &token_hash).await? {
            Some(t) if t.expires_at > now => t,
            _ => {
                txn.rollback().await?;
                return Err(AuthError::InvalidRefreshToken);
            }
        };
        if stored.revoked_at.is_some() {
            // Revocations take whole families, except a retry's: a revoked token whose family
            // lives on is a retried token's successor, received after all.
            let live = store::refresh_tokens::family_is_live(&txn, stored.family_id).await?;
            txn.rollback().await?;
            return if live {
                self.reuse_detected(&stored, meta, now).await
            } else {
                Err(AuthError::InvalidRefreshToken)
            };
        }
        let detail = match stored.used_at {
            None if store::refresh_tokens::mark_used(&txn, stored.id, now).await? => None,
            Some(used_at) if self.within_grace(used_at, now) => {
                match store::refresh_tokens::revoke_unused_successors(
                    &txn,
                    stored.family_id,
                    used_at,
                    now,
                )
                .await?
                {
                    Some(revoked) => Some(format!(
                        "retried within the grace window; {revoked} unused successor(s) revoked"
                    )),
                    None => {
                        txn.rollback().await?;
                        return self.reuse_detected(&stored, meta, now).await;
                    }
                }
            }
            _ => {
                txn.rollback().await?;
                return self.reuse_detected(&stored, meta, now).await;
            }
        };
        let Some(user) = store::users::find_with_hash(&txn, stored.user_id).await? else {
            return Err(AuthError::InvalidRefreshToken);
        };
        store::session_logs::record(
            &txn,
            Some(user.user.id),
            SessionEvent::Refresh,
            meta,
            detail,
            now,
        )
        .await?;
        let session = self
            .open_session(&txn, user.user, stored.family_id, now)
            .await?;
        txn.commit().await?;
        Ok(session)
    }

    /// Whether a token exchanged at `used_at` may still be retried at `now`.
    fn within_grace(&self, used_at: DateTime<Utc>, now: DateTime<Utc>) -> bool {
        let grace = i64::from(self.inner.config.refresh_grace_secs);
        grace > 0 && now - used_at <= Duration::seconds(grace)
    }

    async fn reuse_detected<T>(
        &self,
        stored: &store::refresh_tokens::StoredRefreshToken,
        meta: &RequestMeta,
        now: DateTime<Utc>,
    ) -> Result<T, AuthError> {
        let txn = self.inner.db.begin().await?;
        let revoked = store::refresh_tokens::revoke_family(&txn, stored.family_id, now).await?;
        store::session_logs::record(
            &txn,
            Some(stored.user_id),
            SessionEvent::RefreshReuse,
            meta,
            Some(format!(
                "family {} revoked ({revoked} live tokens)",
                stored.family_id
            )),
            now,
        )
        .await?;
        txn.commit().await?;
        tracing::warn!(user_id = %stored.user_id, family_id = %stored.family_id, "refresh token reuse; family revoked");
        self.revoked(Revocation::Sessions {
            user_id: stored.user_id,
            session_ids: vec![stored.family_id],
        })
        .await;
        Err(AuthError::InvalidRefreshToken)
    }

    /// Ends the session a refresh token belongs to. True if a live session was ended.
    #[tracing::instrument(skip_all)]
    pub async fn logout(&self, token: &str, meta: &RequestMeta) -> Result<bool, AuthError> {
        let now = Self::now();
        let Some(stored) =
            store::refresh_tokens::find_by_hash(&self.inner.db, &secrets::hash(token)).await?
        else {
            return Ok(false);
        };
        let txn = self.inner.db.begin().await?;
        let revoked = store::refresh_tokens::revoke_family(&txn, stored.family_id, now).await?;
        if revoked > 0 {
            store::session_logs::record(
                &txn,
                Some(stored.user_id),
                SessionEvent::Logout,
                meta,
                None,
                now,
            )
            .await?;
        }
        txn.commit().await?;
        if revoked > 0 {
            self.revoked(Revocation::Sessions {
                user_id: stored.user_id,
                session_ids: vec![stored.family_id],
            })
            .await;
        }
        Ok(revoked > 0)
    }

    /// Changes the caller's password and revokes all of their refresh tokens. Needs a
    /// session (not an API key) and the current password.
    #[tracing::instrument(skip_all, fields(user_id = %caller.user_id))]
    pub async fn change_password(
        &self,
        caller: &Identity,
        current: &str,
        new_password: &str,
        meta: &RequestMeta,
    ) -> Result<(), AuthError> {
        require_session(caller)?;
        let user = store::users::find_with_hash(&self.inner.db, caller.user_id)
            .await?
            .ok_or(AuthError::InvalidCredential)?;
        self.inner
            .throttle
            .check_login(&user.user.email, meta.ip.as_deref())
            .await?;
        let hash = user.password_hash.clone();
        let cur = current
            .chars()
            .take(password::MAX_LEN + 1)
            .collect::<String>();
        if !self.hashing(move || password::verify(&cur, &hash)).await? {
            return Err(AuthError::invalid("current password is incorrect"));
        }
        if current == new_password {
            return Err(AuthError::invalid(
                "the new password must differ from the current one",
            ));
        }
        let local_part = user
            .user
            .email
            .split('@')
            .next()
            .unwrap_or_default()
            .to_string();
        password::check_policy(
            new_password,
            &[&user.user.email, &local_part, &user.user.display_name],
        )?;
        let pw = new_password.to_string();
        let new_hash = self.hashing(move || password::hash(&pw)).await??;

        let now = Self::now();
        let txn = self.inner.db.begin().await?;
        store::users::set_password_hash(&txn, caller.user_id, &new_hash, now).await?;
        let sessions = store::refresh_tokens::live_families(&txn, caller.user_id).await?;
        let revoked = store::refresh_tokens::revoke_user(&txn, caller.user_id, now).await?;
        store::session_logs::record(
            &txn,
            Some(caller.user_id),
            SessionEvent::PasswordChange,
            meta,
            Some(format!("{revoked} refresh tokens revoked")),
            now,
        )
        .await?;
        txn.commit().await?;
        // The session this was asked from ends too, even if its refresh token is gone.
        let mut session_ids = sessions;
        session_ids.extend(caller.session());
        session_ids.sort();
        session_ids.dedup();
        self.revoked(Revocation::Sessions {
            user_id: caller.user_id,
            session_ids,
        })
        .await;
        Ok(())
    }

    /// Creates an API key with the given scopes. Needs a session: a key cannot mint keys.
    #[tracing::instrument(skip_all, fields(user_id = %caller.user_id))]
    pub async fn create_api_key(
        &self,
        caller: &Identity,
        name: &str,
        scopes: &[Scope],
        meta: &RequestMeta,
    ) -> Result<CreatedApiKey, AuthError> {
        require_session(caller)?;
        let name = normalize_key_name(name)?;
        let mut scopes = scopes.to_vec();
        scopes.sort();
        scopes.dedup();
        if scopes.is_empty() {
            return Err(AuthError::invalid("an API key needs at least one scope"));
        }
        let now = Self::now();
        let txn = self.inner.db.begin().await?;
        if store::api_keys::count_active(&txn, caller.user_id).await? >= MAX_ACTIVE_API_KEYS {
            return Err(AuthError::invalid(format!(
                "at most {MAX_ACTIVE_API_KEYS} active API keys; revoke one first"
            )));
        }
        let (secret, prefix) = secrets::new_api_key();
        let key = store::api_keys::insert(
            &txn,
            caller.user_id,
            &name,
            &prefix,
            &secrets::hash(&secret),
            &scopes,
            now,
        )
        .await?;
        store::session_logs::record(
            &txn,
            Some(caller.user_id),
            SessionEvent::ApiKeyCreated,
            meta,
            Some(key.prefix.clone()),
            now,
        )
        .await?;
        txn.commit().await?;
        Ok(CreatedApiKey { key, secret })
    }

    /// Revokes one of the caller's API keys; it fails at once everywhere.
    #[tracing::instrument(skip_all, fields(user_id = %caller.user_id))]
    pub async fn revoke_api_key(
        &self,
        caller: &Identity,
        id: Uuid,
        meta: &RequestMeta,
    ) -> Result<ApiKey, AuthError> {
        require_session(caller)?;
        let now = Self::now();
        let txn = self.inner.db.begin().await?;
        let Some(key) = store::api_keys::find_owned(&txn, caller.user_id, id).await? else {
            return Err(AuthError::NotFound("API key"));
        };
        store::api_keys::revoke(&txn, id, now).await?;
        let newly_revoked = key.revoked_at.is_none();
        if newly_revoked {
            store::session_logs::record(
                &txn,
                Some(caller.user_id),
                SessionEvent::ApiKeyRevoked,
                meta,
                Some(key.prefix.clone()),
                now,
            )
            .await?;
        }
        let key = store::api_keys::find_owned(&txn, caller.user_id, id)
            .await?
            .ok_or(AuthError::NotFound("API key"))?;
        txn.commit().await?;
        if newly_revoked {
            self.revoked(Revocation::ApiKey {
                user_id: caller.user_id,
                key_id: id,
            })
            .await;
        }
        Ok(key)
    }

    /// The caller's API keys, newest first, revoked ones included.
    pub async fn api_keys(&self, caller: &Identity) -> Result<Vec<ApiKey>, AuthError> {
        store::api_keys::list(&self.inner.db, caller.user_id).await
    }

    /// The caller's account; `None` if it was deleted since the token was issued.
    pub async fn me(&self, caller: &Identity) -> Result<Option<User>, AuthError> {
        Ok(store::users::find_with_hash(&self.inner.db, caller.user_id)
            .await?
            .map(|u| u.user))
    }

    /// Users by id, for federation entity batches; missing ids are simply absent.
    pub async fn users_by_ids(&self, ids: &[Uuid]) -> Result<Vec<User>, AuthError> {
        store::users::find_many(&self.inner.db, ids).await
    }

    /// How many API keys this service has looked up in the database (`/metrics` has it as
    /// `rialto_auth_api_key_lookups_total`): tests check that made-up keys cost none.
    pub fn api_key_lookups(&self) -> u64 {
        self.inner
            .key_lookups
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Whether checking `bearer` would cost a database lookup: a well-formed API key that
    /// is not among the recently checked valid ones. The edge spends its address's lookup
    /// budget on such a key before asking, so made-up keys cannot flood the database.
    pub fn needs_lookup(&self, bearer: &str) -> bool {
        secrets::is_well_formed_api_key(bearer)
            && self
                .inner
                .known_keys
                .get(&secrets::hash(bearer))
                .is_none_or(|(at, _)| at.elapsed() >= KEY_CACHE_TTL)
    }

    /// Turns a bearer value (access token or API key) into an identity.
    pub async fn authenticate(&self, bearer: &str) -> Result<Identity, AuthError> {
        if !secrets::is_api_key(bearer) {
            let identity = self.inner.keys.verify(bearer)?;
            if self.inner.revocations.is_revoked(&identity) {
                return Err(AuthError::InvalidCredential);
            }
            return Ok(identity);
        }
        if !secrets::is_well_formed_api_key(bearer) {
            return Err(AuthError::InvalidCredential);
        }
        let digest = secrets::hash(bearer);
        if let Some((at, identity)) = self.inner.known_keys.get(&digest)
            && at.elapsed() < KEY_CACHE_TTL
            && !self.inner.revocations.is_revoked(&identity)
        {
            return Ok(identity);
        }
        self.inner
            .key_lookups
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        metrics::counter!("rialto_auth_api_key_lookups_total").increment(1);
        let db = &self.inner.db;
        let found = store::api_keys::find_by_hash(db, &digest)
            .await?
            .ok_or(AuthError::InvalidCredential)?;
        if found.key.revoked_at.is_some() {
            return Err(AuthError::InvalidCredential);
        }
        let user = store::users::find_with_hash(db, found.user_id)
            .await?
            .ok_or(AuthError::InvalidCredential)?;
        let now = Self::now();
        if found
            .key
            .last_used_at
            .is_none_or(|t| now - t > KEY_TOUCH_INTERVAL)
        {
            store::api_keys::touch(db, found.key.id, now).await?;
        }
        let identity = Identity {
            user_id: found.user_id,
            role: user.user.role,
            scopes: found.key.scopes,
            credential: Credential::ApiKey { id: found.key.id },
            expires_at: None,
        };
        self.inner
            .known_keys
            .insert(digest, (std::time::Instant::now(), identity.clone()));
        Ok(identity)
    }

    /// Creates an account from the shell (`rialto admin create-user`), or sets the role and
    /// password of an existing one. The password policy applies as everywhere.
    pub async fn create_user(
        &self,
        raw_email: &str,
        new_password: &str,
        role: Role,
    ) -> Result<User, AuthError> {
        let email = email::normalize(raw_email)?;
        password::check_policy(new_password, &[&email])?;
        let pw = new_password.to_string();
        let hash = self.hashing(move || password::hash(&pw)).await??;
        let now = Self::now();
        let display = email.split('@').next().unwrap_or("user").to_string();
        let meta = RequestMeta {
            user_agent: Some("rialto admin".into()),
            ..Default::default()
        };
        let txn = self.inner.db.begin().await?;
        let user = match store::users::find_by_email(&txn, &email).await? {
            Some(existing) => {
                store::users::set_password_hash(&txn, existing.user.id, &hash, now).await?;
                store::users::set_role(&txn, existing.user.id, role, now).await?;
                User {
                    role,
                    ..existing.user
                }
            }
            None => {
                let user = store::users::insert(&txn, &email, &display, &hash, role, now).await?;
                store::session_logs::record(
                    &txn,
                    Some(user.id),
                    SessionEvent::Register,
                    &meta,
                    None,
                    now,
                )
                .await?;
                user
            }
        };
        txn.commit().await?;
        Ok(user)
    }
}

/// Account management needs a session, not an API key.
fn require_session(caller: &Identity) -> Result<(), AuthError> {
    if caller.is_session() {
        Ok(())
    } else {
        Err(AuthError::Forbidden(
            "this operation needs a signed-in session, not an API key",
        ))
    }
}

#[cfg(test)]
mod tests {
    use std::num::NonZeroU32;

    use migration::MigratorTrait;
    use sea_orm::{ConnectOptions, Database};

    use super::*;

    /// A service over a fresh in-memory SQLite database.
    async fn service(config: AuthConfig) -> AuthService {
        let mut options = ConnectOptions::new("sqlite::memory:");
        // One connection: each in-memory connection would be a database of its own.
        options.max_connections(1).min_connections(1);
        let db = Database::connect(options).await.unwrap();
        migration::AuthMigrator::up(&db, None).await.unwrap();
        let keys = KeySet::new(&crate::keys::generate_key(), &[], "rialto", "rialto-api").unwrap();
        AuthService::new(db, keys, config)
    }

    #[tokio::test]
    async fn password_hashing_past_its_bound_is_refused_not_queued() {
        let auth = service(AuthConfig {
            max_concurrent_password_hashes: NonZeroU32::MIN,
            ..AuthConfig::default()
        })
        .await;
        let meta = RequestMeta {
            ip: Some("192.0.2.1".into()),
            ..RequestMeta::default()
        };
        let busy = auth.inner.hashing.try_acquire().unwrap();

        let refused = auth
            .register(
                "ann@example.com",
                "correct horse battery staple",
                "Ann",
                &meta,
            )
            .await;
        assert!(
            matches!(
                refused,
                Err(AuthError::RateLimited {
                    retry_after_secs: 1
                })
            ),
            "{refused:?}"
        );
        let refused = auth
            .login("ann@example.com", "correct horse battery staple", &meta)
            .await;
        assert!(
            matches!(
                refused,
                Err(AuthError::RateLimited {
                    retry_after_secs: 1
                })
            ),
            "{refused:?}"
        );
        let refused = auth
            .create_user(
                "bob@example.com",
                "correct horse battery staple",
                Role::Admin,
            )
            .await;
        assert!(
            matches!(
                refused,
                Err(AuthError::RateLimited {
                    retry_after_secs: 1
                })
            ),
            "{refused:?}"
        );

        drop(busy);
        let session = auth
            .register(
                "ann@example.com",
                "correct horse battery staple",
                "Ann",
                &meta,
            )
            .await
            .unwrap();
        let identity = auth.authenticate(&session.access_token).await.unwrap();
        let _busy = auth.inner.hashing.try_acquire().unwrap();
        let refused = auth
            .change_password(
                &identity,
                "correct horse battery staple",
                "a brand new passphrase of mine",
                &meta,
            )
            .await;
        assert!(
            matches!(
                refused,
                Err(AuthError::RateLimited {
                    retry_after_secs: 1
                })
            ),
            "{refused:?}"
        );
    }
}
