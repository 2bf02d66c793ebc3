//! The cluster-file parser on arbitrary bytes: it may refuse, never panic or hang.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = fleetgen::load::dotenv::parse(Path::new("fuzz.env"), text);
    }
});
