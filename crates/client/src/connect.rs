//! One way to reach consentd, for every Rust client of it (consentctl, the load engine, the
//! tests): the API key on every call ([`Key`]), the three service clients over one channel
//! with the message limits consentd uses ([`Clients`]), and the address's scheme
//! ([`with_scheme`]).

use consentd_proto::pb;
use tonic::metadata::{Ascii, MetadataValue};
use tonic::service::Interceptor;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

/// The largest message a client sends or accepts: consentd's own default limit, with room.
pub const MESSAGE_BYTES_MAX: usize = 64 << 20;

/// Adds the API key (`authorization: Bearer <key_id>.<secret>`) to every call.
#[derive(Clone, Default)]
pub struct Key(pub Option<MetadataValue<Ascii>>);

/// An API key that cannot be sent as a header.
#[derive(Debug, thiserror::Error)]
#[error("the API key has characters a header cannot carry")]
pub struct InvalidKey;

impl Key {
    /// No key: a server without keys (protected mode) or a call that needs none.
    pub fn none() -> Key {
        Key(None)
    }

    pub fn bearer(api_key: Option<&str>) -> Result<Key, InvalidKey> {
        match api_key {
            Some(k) => Ok(Key(Some(format!("Bearer {k}").parse().map_err(|_| InvalidKey)?))),
            None => Ok(Key(None)),
        }
    }
}

impl Interceptor for Key {
    fn call(&mut self, mut req: tonic::Request<()>) -> Result<tonic::Request<()>, tonic::Status> {
        if let Some(k) = &self.0 {
            req.metadata_mut().insert("authorization", k.clone());
        }
        Ok(req)
    }
}

pub type DecisionClient = pb::decision_service_client::DecisionServiceClient<InterceptedService<Channel, Key>>;
pub type ConsentClient = pb::consent_service_client::ConsentServiceClient<InterceptedService<Channel, Key>>;
pub type AdminClient = pb::admin_service_client::AdminServiceClient<InterceptedService<Channel, Key>>;

/// One connection and one key: the three services.
#[derive(Clone)]
pub struct Clients {
    pub channel: Channel,
    pub key: Key,
}

impl Clients {
    pub fn new(channel: Channel, key: Key) -> Clients {
        Clients { channel, key }
    }

    pub fn decision(&self) -> DecisionClient {
        pb::decision_service_client::DecisionServiceClient::with_interceptor(self.channel.clone(), self.key.clone())
            .max_decoding_message_size(MESSAGE_BYTES_MAX)
            .max_encoding_message_size(MESSAGE_BYTES_MAX)
    }

    pub fn consent(&self) -> ConsentClient {
        pb::consent_service_client::ConsentServiceClient::with_interceptor(self.channel.clone(), self.key.clone())
            .max_decoding_message_size(MESSAGE_BYTES_MAX)
            .max_encoding_message_size(MESSAGE_BYTES_MAX)
    }

    pub fn admin(&self) -> AdminClient {
        pb::admin_service_client::AdminServiceClient::with_interceptor(self.channel.clone(), self.key.clone())
            .max_decoding_message_size(MESSAGE_BYTES_MAX)
            .max_encoding_message_size(MESSAGE_BYTES_MAX)
    }
}

/// `addr` with a scheme: `host:port` means plaintext, or TLS when `tls` (a CA or a client
/// certificate was given); an address with a scheme is kept.
pub fn with_scheme(addr: &str, tls: bool) -> String {
    if addr.contains("://") {
        addr.to_owned()
    } else if tls {
        format!("https://{addr}")
    } else {
        format!("http://{addr}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_schemes() {
        assert!(Key::bearer(Some("k1.secret")).map(|k| k.0.is_some()).unwrap_or(false));
        assert!(Key::bearer(Some("bad\nkey")).is_err());
        assert!(Key::bearer(None).map(|k| k.0.is_none()).unwrap_or(false));
        assert_eq!(with_scheme("127.0.0.1:50051", false), "http://127.0.0.1:50051");
        assert_eq!(with_scheme("h:1", true), "https://h:1");
        assert_eq!(with_scheme("http://h:1", true), "http://h:1");
    }
}
