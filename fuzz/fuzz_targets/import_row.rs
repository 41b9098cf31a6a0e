//! The import row parsers of `consentctl import`: a CSV file (header line, then rows) and
//! JSON Lines, with any input. Rows are refused with a reason, never with a panic.
#![no_main]

use consentd::bulk::{Columns, parse_jsonl_line};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(data);
    if let Ok(headers) = reader.headers().cloned() {
        let columns = Columns::from_headers(headers.iter());
        for record in reader.records().take(64).flatten() {
            let fields: Vec<&str> = record.iter().collect();
            let _ = columns.parse(&fields, "acme", "email");
        }
    }
    if let Ok(text) = std::str::from_utf8(data) {
        for line in text.lines().take(64) {
            let _ = parse_jsonl_line(line, "acme", "email");
        }
    }
});
