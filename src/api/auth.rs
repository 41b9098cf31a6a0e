//! Access control: API keys sent as `authorization: Bearer <key_id>.<secret>`, stored as a
//! SHA-256 of the secret, each with scopes and an optional set of profiles.
//!
//! Protected mode: while no key exists every caller is the local operator with every
//! scope; the server then only listens on loopback (see `server::run`). A cluster node
//! knows whether keys exist only once it has applied the log: until it has caught up it
//! answers every call UNAVAILABLE (health excepted), and protected mode needs a loopback
//! listener (or `--insecure`) there too, checked per call rather than at start.

use std::collections::HashSet;
use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::Rng;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use tonic::{Request, Status};

use super::error::{ApiError, ApiResult};
use crate::storage::Store;
use crate::storage::view::ApiKey;
pub use crate::storage::view::Scope;

/// The principal's name in protected mode; real key ids start with `ck_`.
const LOCAL_KEY_ID: &str = "local";

/// Who is calling: the key and what it may do. Put in request extensions by [`Auth`].
#[derive(Clone, Debug)]
pub struct Principal {
    pub key_id: String,
    scopes: HashSet<Scope>,
    /// `None`: every profile.
    profiles: Option<Arc<HashSet<String>>>,
}

impl Principal {
    /// The operator in protected mode (no keys exist; loopback only).
    pub fn local() -> Principal {
        Principal {
            key_id: LOCAL_KEY_ID.to_owned(),
            scopes: [Scope::Check, Scope::Write, Scope::Admin].into_iter().collect(),
            profiles: None,
        }
    }

    pub fn require(&self, scope: Scope) -> ApiResult<()> {
        if self.scopes.contains(&scope) {
            Ok(())
        } else {
            Err(ApiError::PermissionDenied(format!("API key `{}` lacks the `{}` scope", self.key_id, scope.as_str())))
        }
    }

    /// May this key act on `profile`? The profile always comes from the key's grant.
    pub fn may(&self, profile: &str) -> ApiResult<()> {
        if self.allows(profile) {
            Ok(())
        } else {
            Err(ApiError::PermissionDenied(format!("API key `{}` may not act on profile `{profile}`", self.key_id)))
        }
    }

    pub fn allows(&self, profile: &str) -> bool {
        self.profiles.as_ref().is_none_or(|p| p.contains(profile))
    }

    /// Keys limited to some profiles cannot manage keys or create profiles.
    pub fn require_unrestricted(&self) -> ApiResult<()> {
        match self.profiles {
            None => Ok(()),
            Some(_) => Err(ApiError::PermissionDenied(format!(
                "API key `{}` is limited to some profiles; this needs an unrestricted admin key",
                self.key_id
            ))),
        }
    }
}

/// The principal of a request (set by the interceptor).
pub fn principal<T>(req: &Request<T>) -> ApiResult<Principal> {
    req.extensions().get::<Principal>().cloned().ok_or_else(|| ApiError::Unauthenticated("no credentials".to_owned()))
}

pub fn hash_secret(secret: &str) -> Vec<u8> {
    Sha256::digest(secret.as_bytes()).to_vec()
}

/// A new key id and secret: `ck_<16 hex>` and 32 random bytes, base64url.
pub fn new_key_material() -> (String, String) {
    let mut id = [0u8; 8];
    let mut secret = [0u8; 32];
    let mut rng = rand::rng();
    rng.fill_bytes(&mut id);
    rng.fill_bytes(&mut secret);
    let id: String = id.iter().map(|b| format!("{b:02x}")).collect();
    (format!("ck_{id}"), URL_SAFE_NO_PAD.encode(secret))
}

/// Resolves a bearer credential against the stored keys at `now` (seconds).
pub fn authenticate(
    keys: &std::collections::HashMap<String, ApiKey>,
    header: Option<&str>,
    now: i64,
) -> ApiResult<Principal> {
    if keys.is_empty() {
        return Ok(Principal::local());
    }
    let header =
        header.ok_or_else(|| ApiError::Unauthenticated("missing `authorization: Bearer <key>` metadata".to_owned()))?;
    let token = header
        .strip_prefix("Bearer ")
        .or_else(|| header.strip_prefix("bearer "))
        .ok_or_else(|| ApiError::Unauthenticated("authorization must be `Bearer <key>`".to_owned()))?;
    let (key_id, secret) =
        token.trim().split_once('.').ok_or_else(|| ApiError::Unauthenticated("malformed API key".to_owned()))?;
    let unknown = || ApiError::Unauthenticated("unknown, revoked or expired API key".to_owned());
    let key = keys.get(key_id).ok_or_else(unknown)?;
    if !usable(key, now) || !bool::from(key.secret_hash.as_slice().ct_eq(&hash_secret(secret))) {
        return Err(unknown());
    }
    Ok(Principal {
        key_id: key.key_id.clone(),
        scopes: key.scopes.iter().copied().collect(),
        profiles: (!key.profile_ids.is_empty()).then(|| Arc::new(key.profile_ids.iter().cloned().collect())),
    })
}

fn usable(key: &ApiKey, now: i64) -> bool {
    !key.revoked && key.expires_at.is_none_or(|t| now < t)
}

/// Whether a principal authenticated earlier may still act: its key was not revoked and
/// has not expired since. Long-lived streams ask this per batch, so revoking a key ends
/// them. The protected-mode operator stays valid only while no key exists.
pub fn still_valid(store: &Store, principal: &Principal) -> Result<(), Status> {
    let keys = store.api_keys();
    let valid = if principal.key_id == LOCAL_KEY_ID {
        keys.is_empty()
    } else {
        keys.get(&principal.key_id).is_some_and(|k| usable(k, store.now_us().div_euclid(1_000_000)))
    };
    if valid {
        Ok(())
    } else {
        Err(Status::unauthenticated(format!(
            "API key `{}` was revoked or expired while this stream was open",
            principal.key_id
        )))
    }
}

/// The scope every method of a service needs, from the called path; `None` for a method
/// any authenticated caller may call, or a path of no consentd service.
fn scope_of(path: &str) -> Option<Scope> {
    let (service, method) = path.trim_start_matches('/').split_once('/')?;
    match service {
        "consent.v1.DecisionService" => Some(Scope::Check),
        "consent.v1.ConsentService" => Some(Scope::Write),
        "consent.v1.AdminService" if method == "GetServerInfo" => None,
        "consent.v1.AdminService" => Some(Scope::Admin),
        _ => None,
    }
}

/// The interceptor: authenticates every request, authorises it by its service's scope and
/// stores its [`Principal`].
#[derive(Clone, Debug)]
pub struct Auth {
    pub store: Store,
    /// Whether protected mode may serve: the listener is loopback, or `--insecure`.
    pub local_allowed: bool,
}

impl tonic::service::Interceptor for Auth {
    fn call(&mut self, mut req: Request<()>) -> Result<Request<()>, Status> {
        if self.store.replicated() && self.store.catching_up() {
            // Its keys (and revocations) may still be ahead in the log.
            return Err(Status::unavailable(
                "this node is still applying the cluster's log: retry shortly, or on another node",
            ));
        }
        let keys = self.store.api_keys();
        if keys.is_empty() && !self.local_allowed {
            return Err(Status::unauthenticated(
                "no API key exists yet, and protected mode serves loopback only: create the first key on a node \
                 that listens on loopback (consentctl key create)",
            ));
        }
        let header = req.metadata().get("authorization").and_then(|v| v.to_str().ok());
        let now = self.store.now_us().div_euclid(1_000_000);
        match authenticate(&keys, header, now) {
            Ok(principal) => {
                // Authorised before the body is decoded: a key without the service's scope
                // costs no decoding (the handlers check again, with the profile).
                let path = req.extensions().get::<super::trace::RpcPath>().map(|p| p.0.as_str());
                if let Some(scope) = path.and_then(scope_of)
                    && let Err(e) = principal.require(scope)
                {
                    return Err(Status::from(e));
                }
                req.extensions_mut().insert(principal);
                Ok(req)
            }
            Err(e) => {
                // The key id is public; the secret and the request's content never appear.
                let key_id = header
                    .and_then(|h| h.get(7..))
                    .and_then(|t| t.trim().split_once('.'))
                    .map(|(id, _)| id.chars().take(40).collect::<String>())
                    .unwrap_or_else(|| "none".to_owned());
                tracing::warn!(
                    key_id = %key_id,
                    peer = %req.remote_addr().map_or_else(|| "unknown".to_owned(), |a| a.to_string()),
                    code = "UNAUTHENTICATED",
                    "authentication refused"
                );
                Err(Status::from(e))
            }
        }
    }
}

pub fn admin<T>(req: &Request<T>) -> ApiResult<Principal> {
    let p = principal(req)?;
    p.require(Scope::Admin)?;
    Ok(p)
}
