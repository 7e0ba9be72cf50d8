//! Where the refresh token lives: the operating system's secure store, one entry per server.
//!
//! The web app holds the short-lived access token in memory only; the refresh token (14
//! days, rotated on every use, DESIGN.md §6) is handed to [`TokenStore::save`] after each
//! sign-in or refresh and read back at start-up, so it never touches the webview's local
//! storage. The keychain entry is `service = dev.rialto.desktop`, `user = <account key>`:
//! the server's origin (`https://rialto.example.com`), or `local-demo` for the embedded
//! demo, whose port changes between runs but whose data directory (and so its accounts)
//! does not.

use std::{collections::HashMap, sync::Mutex};

use crate::error::{Error, Result};

/// The keychain service name of the app's entries (its bundle identifier).
pub const SERVICE: &str = "dev.rialto.desktop";

/// Longest token accepted: Rialto's are 43 characters (256 bits, base64url); anything far
/// longer is not one.
const MAX_TOKEN_LEN: usize = 4096;

/// Whose token: the key of an entry.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AccountKey(String);

impl AccountKey {
    /// The entry of a server, by origin.
    pub fn server(server: &crate::settings::ServerUrl) -> Self {
        Self(server.origin())
    }

    /// The entry of the local demo.
    pub fn local_demo() -> Self {
        Self("local-demo".to_owned())
    }

    /// The key as stored.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A refresh token, checked to be a plausible one (so the keychain is not used as a
/// general store by a confused caller), and kept out of `Debug` output.
#[derive(Clone, PartialEq, Eq)]
pub struct RefreshToken(String);

impl RefreshToken {
    /// Checks a token: 1 to 4096 printable ASCII characters, no blanks.
    pub fn new(token: String) -> Result<Self> {
        if token.is_empty() {
            return Err(Error::InvalidToken("empty"));
        }
        if token.len() > MAX_TOKEN_LEN {
            return Err(Error::InvalidToken("longer than 4096 characters"));
        }
        if !token.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(Error::InvalidToken("not printable ASCII"));
        }
        Ok(Self(token))
    }

    /// The secret itself, to hand back to the web app.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The secret, by value.
    pub fn into_inner(self) -> String {
        self.0
    }
}

impl std::fmt::Debug for RefreshToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RefreshToken(..)")
    }
}

/// A place to keep one refresh token per account.
pub trait TokenStore: Send + Sync {
    /// The token saved for `account`, if any.
    fn load(&self, account: &AccountKey) -> Result<Option<RefreshToken>>;
    /// Saves (replaces) the token of `account`.
    fn save(&self, account: &AccountKey, token: &RefreshToken) -> Result<()>;
    /// Forgets the token of `account`; no error when there is none.
    fn clear(&self, account: &AccountKey) -> Result<()>;
}

/// The OS secure store through the `keyring` crate: the Secret Service (GNOME Keyring,
/// KWallet) over D-Bus on Linux, the Keychain on macOS, the Credential Manager on Windows.
#[derive(Debug, Clone)]
pub struct KeyringStore {
    service: String,
}

impl KeyringStore {
    /// The store of the app's entries ([`SERVICE`]).
    pub fn new() -> Self {
        Self::with_service(SERVICE)
    }

    /// A store under another service name (a test's own, so it never meets the app's).
    pub fn with_service(service: &str) -> Self {
        Self {
            service: service.to_owned(),
        }
    }

    fn entry(&self, account: &AccountKey) -> Result<keyring::Entry> {
        keyring::Entry::new(&self.service, account.as_str()).map_err(keychain_error)
    }
}

impl Default for KeyringStore {
    fn default() -> Self {
        Self::new()
    }
}

fn keychain_error(e: keyring::Error) -> Error {
    Error::KeychainUnavailable(e.to_string())
}

impl TokenStore for KeyringStore {
    fn load(&self, account: &AccountKey) -> Result<Option<RefreshToken>> {
        match self.entry(account)?.get_password() {
            Ok(token) => match RefreshToken::new(token) {
                Ok(token) => Ok(Some(token)),
                // Someone else's entry under our name: treat as absent, never hand it out.
                Err(_) => Ok(None),
            },
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(e) => Err(keychain_error(e)),
        }
    }

    fn save(&self, account: &AccountKey, token: &RefreshToken) -> Result<()> {
        self.entry(account)?
            .set_password(token.expose())
            .map_err(keychain_error)
    }

    fn clear(&self, account: &AccountKey) -> Result<()> {
        match self.entry(account)?.delete_credential() {
            Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
            Err(e) => Err(keychain_error(e)),
        }
    }
}

/// A store in memory: tests, and a fallback nobody persists to.
#[derive(Debug, Default)]
pub struct MemoryStore {
    entries: Mutex<HashMap<AccountKey, RefreshToken>>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn entries(&self) -> std::sync::MutexGuard<'_, HashMap<AccountKey, RefreshToken>> {
        // A panic while holding the lock cannot leave the map half-updated (single calls).
        self.entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl TokenStore for MemoryStore {
    fn load(&self, account: &AccountKey) -> Result<Option<RefreshToken>> {
        Ok(self.entries().get(account).cloned())
    }

    fn save(&self, account: &AccountKey, token: &RefreshToken) -> Result<()> {
        self.entries().insert(account.clone(), token.clone());
        Ok(())
    }

    fn clear(&self, account: &AccountKey) -> Result<()> {
        self.entries().remove(account);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::ServerUrl;

    fn token(s: &str) -> RefreshToken {
        RefreshToken::new(s.to_owned()).unwrap()
    }

    /// The behaviour every backend has; run against each.
    fn behaves_like_a_token_store(store: &dyn TokenStore) {
        let a = AccountKey::server(&ServerUrl::parse("https://a.example").unwrap());
        let b = AccountKey::local_demo();
        store.clear(&a).unwrap();
        store.clear(&b).unwrap();

        assert_eq!(store.load(&a).unwrap(), None);
        store.save(&a, &token("first")).unwrap();
        store.save(&b, &token("other")).unwrap();
        assert_eq!(store.load(&a).unwrap(), Some(token("first")));

        store.save(&a, &token("rotated")).unwrap();
        assert_eq!(store.load(&a).unwrap(), Some(token("rotated")));
        assert_eq!(store.load(&b).unwrap(), Some(token("other")));

        store.clear(&a).unwrap();
        store.clear(&a).unwrap();
        assert_eq!(store.load(&a).unwrap(), None);
        assert_eq!(store.load(&b).unwrap(), Some(token("other")));
        store.clear(&b).unwrap();
    }

    #[test]
    fn the_memory_store_keeps_one_token_per_account() {
        behaves_like_a_token_store(&MemoryStore::new());
    }

    /// Needs a Secret Service on the session bus (a desktop session, or
    /// `dbus-run-session` + `gnome-keyring-daemon --unlock`): `cargo test -p rialto-desktop
    /// -- --ignored keyring`.
    #[test]
    #[ignore = "needs the OS keychain (a Secret Service on D-Bus)"]
    fn the_keyring_store_keeps_one_token_per_account() {
        let service = format!("dev.rialto.desktop.test-{}", std::process::id());
        behaves_like_a_token_store(&KeyringStore::with_service(&service));
    }

    #[test]
    fn accounts_are_keyed_by_origin_and_the_demo_by_name() {
        let url = ServerUrl::parse("https://rialto.example.com/").unwrap();
        assert_eq!(
            AccountKey::server(&url).as_str(),
            "https://rialto.example.com"
        );
        assert_eq!(AccountKey::local_demo().as_str(), "local-demo");
    }

    #[test]
    fn implausible_tokens_are_refused_and_tokens_stay_out_of_logs() {
        assert!(RefreshToken::new(String::new()).is_err());
        assert!(RefreshToken::new("has space".into()).is_err());
        assert!(RefreshToken::new("line\nbreak".into()).is_err());
        assert!(RefreshToken::new("é".into()).is_err());
        assert!(RefreshToken::new("x".repeat(4097)).is_err());
        let t = token("kTq3-_secret");
        assert_eq!(t.expose(), "kTq3-_secret");
        assert!(!format!("{t:?}").contains("secret"));
    }
}
