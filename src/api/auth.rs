//! Access control: API keys sent as `authorization: Bearer <key_id>.<secret>`, stored as a
//! SHA-256 of the secret, each with scopes and an optional set of profiles.
//!
//! Protected mode: while no key exists every caller is the local operator with every
//! scope; the server then only listens on loopback (see `server::run`).

use std::collections::HashSet;
use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use sha2::{Digest, Sha256};
use tonic::{Request, Status};

use super::error::{ApiError, ApiResult};
use crate::storage::Store;
use crate::storage::codec::StoredApiKey;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Scope {
    Check = 1,
    Write = 2,
    Admin = 3,
}

impl Scope {
    pub fn from_u32(n: u32) -> Option<Scope> {
        match n {
            1 => Some(Scope::Check),
            2 => Some(Scope::Write),
            3 => Some(Scope::Admin),
            _ => None,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Scope::Check => "check",
            Scope::Write => "write",
            Scope::Admin => "admin",
        }
    }
}

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
            key_id: "local".to_owned(),
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

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Resolves a bearer credential against the stored keys.
pub fn authenticate(
    keys: &std::collections::HashMap<String, StoredApiKey>,
    header: Option<&str>,
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
    let unknown = || ApiError::Unauthenticated("unknown or revoked API key".to_owned());
    let key = keys.get(key_id).ok_or_else(unknown)?;
    if key.revoked || !constant_time_eq(&key.secret_hash, &hash_secret(secret)) {
        return Err(unknown());
    }
    Ok(Principal {
        key_id: key.key_id.clone(),
        scopes: key.scopes.iter().filter_map(|s| Scope::from_u32(*s)).collect(),
        profiles: (!key.profile_ids.is_empty()).then(|| Arc::new(key.profile_ids.iter().cloned().collect())),
    })
}

/// The interceptor: authenticates every request and stores its [`Principal`].
#[derive(Clone, Debug)]
pub struct Auth {
    pub store: Store,
}

impl tonic::service::Interceptor for Auth {
    fn call(&mut self, mut req: Request<()>) -> Result<Request<()>, Status> {
        let keys = self.store.api_keys();
        let header = req.metadata().get("authorization").and_then(|v| v.to_str().ok());
        let principal = authenticate(&keys, header).map_err(Status::from)?;
        req.extensions_mut().insert(principal);
        Ok(req)
    }
}
