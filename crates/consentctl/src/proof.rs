//! Proof of what a send was allowed on: decision receipts kept by `check-file --receipts`
//! (verified offline, replayed against the server) and the revocation fence of a queued
//! send.

use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use consentd_client::receipt::{self, Receipt};
use consentd_proto::pb;
use serde_json::{Value, json};

use crate::args::{FenceArgs, ReceiptCmd, ReplayArg};
use crate::client::{Clients, Failure, exit, usage};
use crate::files::io_err;
use crate::render::{enum_name, print};
use crate::stream::{Recipients, batch_request, stream_recipients};

/// The receipt file's format name.
const FORMAT: &str = "consentd-receipt/1";

/// Writes one answer's receipt to `dir` as `receipt-<batch>.json`: the signed body and
/// signature, and (outside what is signed) which rows of which file the batch held.
pub(crate) fn keep_receipt(
    dir: &Path,
    input: &Path,
    first_row: u64,
    answer: &pb::CheckStreamResponse,
) -> Result<(), Failure> {
    let r = answer
        .receipt
        .as_ref()
        .ok_or_else(|| io_err("check stream", format!("batch {} came back without its receipt", answer.batch_id)))?;
    // What was signed must be what was answered.
    let body = Receipt::decode(&r.body).map_err(|e| io_err("receipt", e))?;
    if body.outcomes != answer.outcomes || body.batch_id != answer.batch_id {
        return Err(io_err("receipt", format!("batch {}: the receipt does not match the answer", answer.batch_id)));
    }
    let doc = json!({
        "format": FORMAT,
        "key_id": r.key_id,
        "body": STANDARD.encode(&r.body),
        "signature": STANDARD.encode(&r.signature),
        "rows": {"file": input.display().to_string(), "first": first_row, "count": body.recipients},
    });
    let path = dir.join(format!("receipt-{:06}.json", answer.batch_id));
    std::fs::write(&path, format!("{doc:#}\n")).map_err(|e| io_err(&format!("`{}`", path.display()), e))
}

/// A kept receipt: its body and signature as signed, and the rows it names.
struct Kept {
    body: Vec<u8>,
    signature: Vec<u8>,
    first_row: u64,
    /// The file the batch was read from, as check-file was given it.
    rows_file: std::path::PathBuf,
}

fn read_kept(path: &Path) -> Result<Kept, Failure> {
    let bad = |why: String| Failure { code: exit::DATA_ERR, message: format!("`{}`: {why}", path.display()) };
    let text = std::fs::read_to_string(path)
        .map_err(|e| Failure { code: exit::NO_INPUT, message: format!("cannot read `{}`: {e}", path.display()) })?;
    let doc: Value = serde_json::from_str(&text).map_err(|e| bad(format!("not a receipt file: {e}")))?;
    if doc["format"] != FORMAT {
        return Err(bad(format!("not a receipt file (format is not {FORMAT})")));
    }
    let field = |name: &str| {
        doc[name]
            .as_str()
            .and_then(|s| STANDARD.decode(s).ok())
            .ok_or_else(|| bad(format!("`{name}` is missing or not base64")))
    };
    Ok(Kept {
        body: field("body")?,
        signature: field("signature")?,
        first_row: doc["rows"]["first"].as_u64().unwrap_or(0),
        rows_file: doc["rows"]["file"].as_str().unwrap_or_default().into(),
    })
}

/// Public keys from a keys file (`{"keys": [{"id", "public_key"}]}`) and `ID=BASE64` flags.
fn public_keys(file: Option<&Path>, flags: &[String]) -> Result<Vec<(u32, [u8; 32])>, Failure> {
    let key = |id: Option<u64>, b64: Option<&str>| -> Option<(u32, [u8; 32])> {
        let id = u32::try_from(id?).ok()?;
        let bytes: [u8; 32] = STANDARD.decode(b64?).ok()?.try_into().ok()?;
        Some((id, bytes))
    };
    let mut keys = Vec::new();
    if let Some(path) = file {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Failure { code: exit::NO_INPUT, message: format!("cannot read `{}`: {e}", path.display()) })?;
        let doc: Value = serde_json::from_str(&text)
            .map_err(|e| usage(format!("`{}` is not a receipt keys file: {e}", path.display())))?;
        for k in doc["keys"].as_array().into_iter().flatten() {
            keys.push(key(k["id"].as_u64(), k["public_key"].as_str()).ok_or_else(|| {
                usage(format!("`{}`: a key without an id or a 32-byte base64 public_key", path.display()))
            })?);
        }
    }
    for f in flags {
        let (id, b64) = f.split_once('=').ok_or_else(|| usage(format!("--public-key `{f}`: give ID=BASE64")))?;
        keys.push(
            key(id.parse().ok(), Some(b64))
                .ok_or_else(|| usage(format!("--public-key `{f}`: a number, `=`, and a 32-byte key in base64")))?,
        );
    }
    Ok(keys)
}

fn summary(r: &Receipt) -> Value {
    let sends = r.outcomes.iter().filter(|&&b| i32::from(b >> 6) == pb::Decision::Send as i32).count();
    json!({
        "key_id": r.key_id,
        "batch_id": r.batch_id,
        "revision": r.revision,
        "decided_at": r.decided_at_us.div_euclid(1_000_000),
        "profile": r.profile_id,
        "channel": enum_name(pb::Channel::try_from(r.channel).unwrap_or_default().as_str_name(), "CHANNEL_"),
        "purpose": r.purpose_id,
        "topic": r.topic_id,
        "recipients": r.recipients,
        "send": sends,
        "block": r.outcomes.len() - sends,
    })
}

/// `receipt verify`: offline.
pub(crate) fn verify(files: &[std::path::PathBuf], keys_file: Option<&Path>, flags: &[String]) -> Result<u8, Failure> {
    let keys = public_keys(keys_file, flags)?;
    let mut failed = 0usize;
    for path in files {
        let kept = read_kept(path)?;
        match receipt::verify(&kept.body, &kept.signature, &keys) {
            Ok(r) => println!("{}", json!({"file": path.display().to_string(), "valid": true, "receipt": summary(&r)})),
            Err(e) => {
                failed += 1;
                println!("{}", json!({"file": path.display().to_string(), "valid": false, "error": e.to_string()}));
            }
        }
    }
    if failed > 0 {
        eprintln!("consentctl: {failed} of {} receipts do not verify", files.len());
        return Ok(exit::FINDINGS);
    }
    Ok(exit::OK)
}

pub(crate) async fn receipt(c: &Clients, cmd: ReceiptCmd, as_json: bool) -> Result<u8, Failure> {
    match cmd {
        ReceiptCmd::Keys => {
            let info = c.admin().get_server_info(pb::GetServerInfoRequest {}).await?.into_inner();
            // Ed25519 public keys are 32 bytes; anything else is no key to verify with.
            let keys = info
                .receipt_keys
                .iter()
                .filter_map(|k| Some((k.id, <[u8; 32]>::try_from(k.public_key.as_slice()).ok()?, k.signing)));
            println!("{:#}", receipt::keys_json(keys));
            Ok(exit::OK)
        }
        ReceiptCmd::Verify { files, keys, public_key } => verify(&files, keys.as_deref(), &public_key),
        ReceiptCmd::Replay { file, recipients, no_header, against } => {
            replay(c, &file, &recipients, no_header, against, as_json).await
        }
    }
}

/// One recipient a replay answered differently: its row in the file, contact point, and the
/// receipt's and the replay's answers (decision × 64 + reason).
pub(crate) struct Difference {
    pub row: u64,
    pub contact_point: String,
    pub was: u8,
    pub now: u8,
}

/// A receipt's rows of `recipients`: the rows it names, or the whole file when it holds
/// only those.
fn receipt_rows(
    kept: &Kept,
    r: &Receipt,
    recipients: &Path,
    no_header: bool,
) -> Result<(Recipients, Vec<csv::StringRecord>), Failure> {
    let (file, rows) = Recipients::open(recipients, no_header)?.all()?;
    let n = r.recipients as usize;
    if rows.len() == n {
        return Ok((file, rows));
    }
    let first = usize::try_from(kept.first_row).unwrap_or(usize::MAX);
    let rows = rows.get(first..first.saturating_add(n)).map(<[_]>::to_vec).ok_or_else(|| Failure {
        code: exit::DATA_ERR,
        message: format!(
            "`{}` has {} recipients; the receipt names {n} from row {}",
            recipients.display(),
            rows.len(),
            kept.first_row
        ),
    })?;
    Ok((file, rows))
}

/// The receipt's recipients decided again `against` a clock; every recipient answered
/// differently, and the revision the replay read.
async fn differences(
    c: &Clients,
    kept: &Kept,
    r: &Receipt,
    recipients: &Path,
    no_header: bool,
    against: ReplayArg,
) -> Result<(Vec<Difference>, u64), Failure> {
    let (file, rows) = receipt_rows(kept, r, recipients, no_header)?;
    let at = Some(timestamp(r.decided_at_us));
    let (as_of, as_of_clock, as_of_revision) = match (against, r.as_of) {
        // A receipt of a decision as of a past moment replays that moment.
        (ReplayArg::Recorded, Some((us, clock))) => (Some(timestamp(us)), clock, None),
        (ReplayArg::Recorded, None) => (at, pb::Clock::Recorded as i32, Some(r.revision)),
        (ReplayArg::Occurred, Some((us, _))) => (Some(timestamp(us)), pb::Clock::Occurred as i32, None),
        (ReplayArg::Occurred, None) => (at, pb::Clock::Occurred as i32, None),
        (ReplayArg::Now, _) => (None, 0, None),
    };
    let template = pb::CheckStreamRequest {
        profile_id: r.profile_id.clone(),
        channel: r.channel,
        purpose_id: r.purpose_id.clone(),
        topic_id: r.topic_id.clone(),
        overrides: r
            .overrides
            .iter()
            .map(|(index, channel, topic)| pb::ItemOverride {
                index: *index,
                channel: *channel,
                topic_id: topic.clone(),
            })
            .collect(),
        as_of,
        as_of_clock,
        as_of_revision,
        receipts: true,
        ..Default::default()
    };
    let req = batch_request(&template, r.batch_id, rows.iter().map(|row| file.contact(row)));
    let mut client = c.decision().max_decoding_message_size(64 << 20).max_encoding_message_size(64 << 20);
    let mut answers = client.check_stream(tokio_stream::iter([req])).await?.into_inner();
    let answer = answers.message().await?.ok_or_else(|| io_err("check stream", "ended without an answer"))?;
    let again = answer
        .receipt
        .as_ref()
        .and_then(|x| Receipt::decode(&x.body).ok())
        .ok_or_else(|| io_err("check stream", "the answer has no receipt"))?;
    if again.recipients_digest != r.recipients_digest {
        return Err(Failure {
            code: exit::DATA_ERR,
            message: format!(
                "the recipients read from `{}` are not the receipt's (their digest differs): give the file the \
                 batch was checked from",
                recipients.display()
            ),
        });
    }
    let differ = r
        .outcomes
        .iter()
        .zip(&answer.outcomes)
        .enumerate()
        .filter(|(_, (was, now))| was != now)
        .map(|(i, (was, now))| Difference {
            row: kept.first_row + i as u64,
            contact_point: file.contact(&rows[i]).to_owned(),
            was: *was,
            now: *now,
        })
        .collect();
    Ok((differ, answer.revision))
}

/// `send/opted_in`: an answer byte's decision and reason.
fn answer_name(b: u8) -> String {
    let (d, reason) = consentd_client::packed::answer(b);
    format!(
        "{}/{}",
        enum_name(pb::Decision::try_from(d).unwrap_or_default().as_str_name(), "DECISION_"),
        enum_name(pb::Reason::try_from(reason).unwrap_or_default().as_str_name(), "REASON_")
    )
}

/// `receipt replay`: the receipt's recipients decided again, each difference a JSON line.
async fn replay(
    c: &Clients,
    path: &Path,
    recipients: &Path,
    no_header: bool,
    against: ReplayArg,
    as_json: bool,
) -> Result<u8, Failure> {
    let kept = read_kept(path)?;
    let r = Receipt::decode(&kept.body).map_err(|e| Failure { code: exit::DATA_ERR, message: e.to_string() })?;
    let (differ, revision) = differences(c, &kept, &r, recipients, no_header, against).await?;
    for d in &differ {
        println!(
            "{}",
            json!({"row": d.row, "contact_point": d.contact_point, "receipt": answer_name(d.was), "replay": answer_name(d.now)})
        );
    }
    let against = match against {
        ReplayArg::Recorded => "recorded",
        ReplayArg::Occurred => "occurred",
        ReplayArg::Now => "now",
    };
    let n = differ.len();
    let s = json!({"receipt": summary(&r), "against": against, "replay_revision": revision, "differ": n});
    if as_json {
        eprintln!("{s}");
    } else {
        eprintln!(
            "{n} of {} recipients answered differently ({against}) than receipt batch {} (revision {})",
            r.recipients, r.batch_id, r.revision
        );
    }
    Ok(if n > 0 { exit::FINDINGS } else { exit::OK })
}

/// The sends kept receipts allowed that an opt-out made before them but recorded after
/// them would have blocked: every receipt in `dir` decided at or after `since_s` (Unix
/// seconds) replayed on the occurred clock, each such recipient a JSON line. Answers how
/// many.
pub(crate) async fn exposed_sends(c: &Clients, dir: &Path, since_s: i64) -> Result<u64, Failure> {
    let mut files: Vec<std::path::PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| Failure { code: exit::NO_INPUT, message: format!("cannot read `{}`: {e}", dir.display()) })?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    let send = pb::Decision::Send as i32;
    let mut exposed = 0u64;
    for path in files {
        let kept = read_kept(&path)?;
        let r = Receipt::decode(&kept.body).map_err(|e| Failure { code: exit::DATA_ERR, message: e.to_string() })?;
        if r.decided_at_us.div_euclid(1_000_000) < since_s || r.as_of.is_some() {
            continue;
        }
        let (differ, _) = differences(c, &kept, &r, &kept.rows_file, false, ReplayArg::Occurred).await?;
        for d in differ {
            let (was, now) = (consentd_client::packed::answer(d.was).0, consentd_client::packed::answer(d.now).0);
            if was == send && now != send {
                exposed += 1;
                println!(
                    "{}",
                    json!({"exposed_send": {
                        "receipt": path.display().to_string(), "row": d.row, "contact_point": d.contact_point,
                        "profile_id": r.profile_id, "purpose": r.purpose_id, "topic": r.topic_id,
                        "decided_at": r.decided_at_us.div_euclid(1_000_000),
                        "answered": answer_name(d.was), "as_occurred": answer_name(d.now),
                    }})
                );
            }
        }
    }
    Ok(exposed)
}

fn timestamp(us: i64) -> prost_types::Timestamp {
    prost_types::Timestamp { seconds: us.div_euclid(1_000_000), nanos: (us.rem_euclid(1_000_000) * 1000) as i32 }
}

/// `fence`: of the allowed list, the recipients whose decision changed since the revision,
/// now blocked, into `out` with the reason.
pub(crate) async fn fence(c: &Clients, a: FenceArgs, as_json: bool) -> Result<u8, Failure> {
    let mut file = Recipients::open(&a.file, a.no_header)?;
    let mut out = csv::WriterBuilder::new()
        .flexible(true)
        .from_path(&a.out)
        .map_err(|e| io_err(&format!("output file `{}`", a.out.display()), e))?;
    if let Some(headers) = &file.headers {
        let mut h: Vec<String> = headers.iter().map(str::to_owned).collect();
        h.push("reason".to_owned());
        out.write_record(&h).map_err(|e| io_err("output file", e))?;
    }
    let template = pb::CheckStreamRequest {
        profile_id: a.profile.clone(),
        channel: a.channel.pb(),
        purpose_id: a.purpose.clone(),
        topic_id: a.topic.clone(),
        changed_since_revision: Some(a.since_revision),
        ..Default::default()
    };
    let (mut changed, mut pulled, mut revision) = (0u64, 0u64, 0u64);
    let started = std::time::Instant::now();
    let total = stream_recipients(c, &mut file, a.batch, &template, a.quiet, |_, rows, answer| {
        revision = revision.max(answer.revision);
        for item in &answer.fenced {
            let row = rows.get(item.index as usize).ok_or_else(|| {
                io_err("check stream", format!("a fenced index {} past the batch's {} rows", item.index, rows.len()))
            })?;
            changed += 1;
            if item.decision != pb::Decision::Send as i32 {
                pulled += 1;
                let reason = enum_name(pb::Reason::try_from(item.reason).unwrap_or_default().as_str_name(), "REASON_");
                let mut record: Vec<&str> = row.iter().collect();
                record.push(&reason);
                out.write_record(&record).map_err(|e| io_err("output file", e))?;
            }
        }
        Ok(())
    })
    .await?;
    out.flush().map_err(|e| io_err("output file", e))?;
    let summary = json!({
        "checked": total, "changed": changed, "pull_back": pulled, "since_revision": a.since_revision,
        "revision": revision, "out": a.out.display().to_string(), "seconds": started.elapsed().as_secs_f64(),
    });
    print(&summary, as_json);
    Ok(exit::OK)
}
