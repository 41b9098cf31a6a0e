//! The import row parsers of `consentctl import`: a CSV file (header line, then rows) read
//! by every preset, and JSON Lines, with any input. Rows are refused with a reason, never with a panic.
#![no_main]

use consentd::bulk::{Importer, Mapping, Preset, parse_jsonl_line};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(data);
    if let Ok(headers) = reader.headers().cloned() {
        let headers: Vec<&str> = headers.iter().collect();
        let importers: Vec<Importer> = Preset::NAMES
            .iter()
            .filter_map(|n| Preset::from_name(n))
            .map(|p| Importer::new(p, &headers, Mapping::default(), "acme", "email"))
            .collect();
        for record in reader.records().take(64).flatten() {
            let fields: Vec<&str> = record.iter().collect();
            for importer in &importers {
                let _ = importer.rows(&fields);
            }
        }
    }
    if let Ok(text) = std::str::from_utf8(data) {
        for line in text.lines().take(64) {
            let _ = parse_jsonl_line(line, Preset::Generic, &Mapping::default(), "acme", "email");
        }
    }
});
