//! Writes the Redis script the crate embeds (`redis/creditpool.lua`) to
//! `OUT_DIR` with its whole-line comments blanked: the comments are for
//! readers of the file, not for Redis, and they were about 3 KB of the
//! gzipped wasm module. Blank lines keep every line number, so a Redis error
//! that names a line still points at the same line of the file.

use std::{env, fs, path::PathBuf};

fn main() {
    let source = "redis/creditpool.lua";
    println!("cargo:rerun-if-changed={source}");
    let text = fs::read_to_string(source).expect("redis/creditpool.lua is readable");
    let mut out = String::with_capacity(text.len());
    for line in text.split_inclusive('\n') {
        let body = line.trim_end_matches(['\n', '\r']);
        let comment = body.trim_start().starts_with("--") && !body.trim_start().starts_with("--[[");
        if !comment {
            out.push_str(body);
        }
        out.push_str(&line[body.len()..]);
    }
    let dest = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR")).join("creditpool.lua");
    fs::write(dest, out).expect("OUT_DIR is writable");
}
