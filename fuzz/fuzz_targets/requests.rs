//! Every request message, decoded from any bytes and handed to the real service code over
//! a real store (in a temporary directory, seeded with a profile): an answer or an error,
//! never a panic. The first byte picks the RPC.
#![no_main]

use std::sync::{Arc, OnceLock};

use consentd::api::admin::AdminApi;
use consentd::api::auth::Principal;
use consentd::api::consent::ConsentApi;
use consentd::api::decision::{DecisionApi, evaluate_batch};
use consentd::api::metrics::Metrics;
use consentd::api::pb;
use consentd::api::pb::admin_service_server::AdminService;
use consentd::api::pb::consent_service_server::ConsentService;
use consentd::api::pb::decision_service_server::DecisionService;
use consentd::config::Limits;
use consentd::storage::{Store, StoreOptions, system_clock};
use libfuzzer_sys::fuzz_target;
use prost::Message;

struct World {
    rt: tokio::runtime::Runtime,
    decision: DecisionApi,
    consent: ConsentApi,
    admin: AdminApi,
    _dir: tempfile::TempDir,
}

fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(|| {
        let dir = tempfile::tempdir().expect("dir");
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        let (store, _) = Store::open(dir.path(), StoreOptions::new(system_clock())).expect("store");
        let limits = Limits::DEFAULT;
        let metrics = Metrics::new(store.clone());
        let decision = DecisionApi {
            store: store.clone(),
            metrics: Arc::clone(&metrics),
            limits,
            stream_slots: Arc::new(tokio::sync::Semaphore::new(8)),
            edge_url: Some("http://edge.test".to_owned()),
        };
        let consent = ConsentApi {
            store: store.clone(),
            metrics,
            limits,
            watch_slots: Arc::new(tokio::sync::Semaphore::new(8)),
            edge_url: None,
        };
        // Deliveries are not started: webhook calls are validated and stored, never sent.
        let webhooks = consentd::webhook::Webhooks::new(store.clone(), std::time::Duration::from_secs(60), None);
        let admin = AdminApi::new(store, webhooks);
        let w = World { rt, decision, consent, admin, _dir: dir };
        w.rt.block_on(async {
            let _ = w
                .admin
                .create_profile(req(pb::CreateProfileRequest {
                    profile: Some(pb::Profile { profile_id: "acme".into(), default_region: "NL".into(), ..Default::default() }),
                }))
                .await;
            let _ = w
                .admin
                .create_purpose(req(pb::CreatePurposeRequest {
                    purpose: Some(pb::Purpose {
                        profile_id: "acme".into(),
                        purpose_id: "newsletter".into(),
                        kind: pb::PurposeKind::Commercial as i32,
                        ..Default::default()
                    }),
                }))
                .await;
        });
        w
    })
}

fn req<T>(msg: T) -> tonic::Request<T> {
    let mut r = tonic::Request::new(msg);
    r.extensions_mut().insert(Principal::local());
    r
}

fn decode<T: Message + Default>(bytes: &[u8]) -> Option<T> {
    T::decode(bytes).ok()
}

fuzz_target!(|data: &[u8]| {
    let Some((&which, bytes)) = data.split_first() else { return };
    let w = world();
    w.rt.block_on(async {
        match which % 15 {
            0 => if let Some(m) = decode(bytes) { let _ = w.decision.check(req(m)).await; },
            1 => if let Some(m) = decode::<pb::CheckStreamRequest>(bytes) {
                let store = &w.decision.store;
                let mut counts = [0u64; consentd::decision::Reason::ALL.len()];
                let _ = evaluate_batch(store, &store.catalog(), &Principal::local(), &Limits::DEFAULT, m, 0, &mut counts, Some("http://edge.test"));
            },
            2 => if let Some(m) = decode(bytes) { let _ = w.consent.set_consent(req(m)).await; },
            3 => if let Some(m) = decode(bytes) { let _ = w.consent.batch_set_consent(req(m)).await; },
            4 => if let Some(m) = decode(bytes) { let _ = w.consent.get_consent(req(m)).await; },
            5 => if let Some(m) = decode(bytes) { let _ = w.consent.get_history(req(m)).await; },
            6 => if let Some(m) = decode(bytes) { let _ = w.consent.confirm_opt_in(req(m)).await; },
            7 => if let Some(m) = decode(bytes) { let _ = w.consent.add_suppression(req(m)).await; },
            8 => if let Some(m) = decode(bytes) { let _ = w.consent.handle_inbound_sms(req(m)).await; },
            9 => if let Some(m) = decode(bytes) { let _ = w.admin.create_purpose(req(m)).await; },
            10 => if let Some(m) = decode(bytes) { let _ = w.admin.update_profile(req(m)).await; },
            11 => if let Some(m) = decode(bytes) { let _ = w.admin.simulate_catalog_change(req(m)).await; },
            12 => if let Some(m) = decode(bytes) { let _ = w.admin.create_webhook(req(m)).await; },
            13 => if let Some(m) = decode(bytes) { let _ = w.admin.update_webhook(req(m)).await; },
            // The revocation fence, with a fence kept across the batches of one stream.
            14 => if let Some(m) = decode::<pb::CheckStreamRequest>(bytes) {
                let store = &w.decision.store;
                let mut counts = [0u64; consentd::decision::Reason::ALL.len()];
                let mut fence = None;
                let _ = consentd::api::fence::evaluate_fence(store, &store.catalog(), &Principal::local(), &Limits::DEFAULT, m.clone(), 0, &mut counts, &mut fence);
                let _ = consentd::api::fence::evaluate_fence(store, &store.catalog(), &Principal::local(), &Limits::DEFAULT, m, 0, &mut counts, &mut fence);
            },
            _ => if let Some(m) = decode(bytes) { let _ = w.admin.create_topic(req(m)).await; },
        }
    });
});
