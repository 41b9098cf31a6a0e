//! Recipient files streamed through `CheckStream`: read in batches, packed, four batches in
//! flight, each answer handed back with its rows (check-file, fence, receipt replay).

use std::collections::VecDeque;
use std::fs::File;
use std::io::BufReader;
use std::time::Instant;

use consentd_client::bulk;
use consentd_proto::pb;

use crate::client::{Clients, Failure, exit};
use crate::files::{io_err, progress};

/// A recipient file, read in batches: the header row (unless there is none) and which
/// column holds the contact point.
pub(crate) struct Recipients {
    reader: csv::Reader<BufReader<File>>,
    pub headers: Option<csv::StringRecord>,
    contact_col: usize,
    size: u64,
}

impl Recipients {
    pub fn open(path: &std::path::Path, no_header: bool) -> Result<Recipients, Failure> {
        let size = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
        let file = File::open(path)
            .map_err(|e| Failure { code: exit::NO_INPUT, message: format!("cannot read `{}`: {e}", path.display()) })?;
        let mut reader =
            csv::ReaderBuilder::new().flexible(true).has_headers(!no_header).from_reader(BufReader::new(file));
        // Every line of `allowed.csv` must be a recipient a decision allowed. A header is
        // copied unchecked, so a first line counts as one only when it names a contact
        // column; otherwise it is most likely the first recipient, and guessing would let it
        // through.
        let (headers, contact_col) = if no_header {
            (None, 0)
        } else {
            let headers = reader.headers().map_err(|e| io_err("reading the header", e))?.clone();
            let Some(col) = bulk::contact_column(headers.iter()) else {
                return Err(Failure {
                    code: exit::DATA_ERR,
                    message: format!(
                        "the first line of `{}` names no contact column (one of {}): if the file has no \
                         header row, pass --no-header (the first column is then the contact point)",
                        path.display(),
                        bulk::CONTACT_HEADERS.join(", ")
                    ),
                });
            };
            (Some(headers), col)
        };
        Ok(Recipients { reader, headers, contact_col, size })
    }

    pub fn contact<'r>(&self, row: &'r csv::StringRecord) -> &'r str {
        row.get(self.contact_col).unwrap_or("")
    }

    /// Every recipient row, read whole.
    pub fn all(mut self) -> Result<(Recipients, Vec<csv::StringRecord>), Failure> {
        let mut rows = Vec::new();
        let mut record = csv::StringRecord::new();
        while self.reader.read_record(&mut record).map_err(|e| io_err("reading recipients", e))? {
            rows.push(record.clone());
        }
        Ok((self, rows))
    }
}

/// One batch of a recipient file as a check request: `template` with the batch's contact
/// points, packed (one buffer each way) unless a contact point holds a line feed.
pub(crate) fn batch_request<'a>(
    template: &pb::CheckStreamRequest,
    batch_id: u64,
    points: impl Iterator<Item = &'a str> + Clone,
) -> pb::CheckStreamRequest {
    let (contact_points, contact_points_packed) = match consentd_client::packed::pack(points.clone()) {
        Some(bytes) => (Vec::new(), bytes),
        None => (points.map(str::to_owned).collect(), Vec::new()),
    };
    pb::CheckStreamRequest { batch_id, contact_points, contact_points_packed, packed_answers: true, ..template.clone() }
}

/// Streams a recipient file through `CheckStream` in batches of `batch` (`template` gives
/// every field but the recipients), four batches in flight, and hands each answer to
/// `on_answer` with its rows and the index of its first row. Answers the rows read.
pub(crate) async fn stream_recipients(
    c: &Clients,
    file: &mut Recipients,
    batch: usize,
    template: &pb::CheckStreamRequest,
    quiet: bool,
    mut on_answer: impl FnMut(u64, &[csv::StringRecord], pb::CheckStreamResponse) -> Result<(), Failure>,
) -> Result<u64, Failure> {
    let (tx, rx) = tokio::sync::mpsc::channel::<pb::CheckStreamRequest>(4);
    let mut client = c.decision().max_decoding_message_size(64 << 20).max_encoding_message_size(64 << 20);
    let mut answers = client.check_stream(tokio_stream::wrappers::ReceiverStream::new(rx)).await?.into_inner();
    let bar = progress(file.size, quiet);
    let started = Instant::now();
    // Rows of batches sent and not yet answered, oldest first (answers keep batch order).
    let mut pending: VecDeque<(u64, Vec<csv::StringRecord>)> = VecDeque::new();
    let (mut read, mut total, mut next_id) = (0u64, 0u64, 0u64);
    let mut eof = false;
    let mut tx = Some(tx);
    while !eof || !pending.is_empty() {
        // Keep up to four batches in flight; then wait for the oldest answer.
        if !eof && pending.len() < 4 {
            let mut rows = Vec::with_capacity(batch);
            let mut record = csv::StringRecord::new();
            while rows.len() < batch {
                match file.reader.read_record(&mut record) {
                    Ok(true) => rows.push(record.clone()),
                    Ok(false) => {
                        eof = true;
                        break;
                    }
                    Err(e) => return Err(io_err("reading recipients", e)),
                }
            }
            if !rows.is_empty() {
                let req = batch_request(template, next_id, rows.iter().map(|r| file.contact(r)));
                next_id += 1;
                if let Some(t) = &tx
                    && t.send(req).await.is_err()
                {
                    // The server ended the stream, and its answer says why (an unknown
                    // profile or purpose, a missing scope): show that, not the symptom.
                    return Err(match answers.message().await {
                        Err(status) => status.into(),
                        Ok(_) => io_err("check stream", "closed by the server without a reason"),
                    });
                }
                let first = read;
                read += rows.len() as u64;
                pending.push_back((first, rows));
            }
            if eof {
                tx = None;
            }
            continue;
        }
        let answer = answers.message().await?.ok_or_else(|| io_err("check stream", "ended early"))?;
        let (first, rows) = pending.pop_front().ok_or_else(|| io_err("check stream", "answer without a batch"))?;
        total += rows.len() as u64;
        on_answer(first, &rows, answer)?;
        bar.set_position(file.reader.position().byte());
        bar.set_message(format!("{total} checked, {:.0}/s", total as f64 / started.elapsed().as_secs_f64().max(1e-9)));
    }
    drop(tx);
    bar.finish_and_clear();
    Ok(total)
}
