//! The server-side script, in the two forms Redis loads: an EVAL script
//! (EVALSHA by its SHA1, with the text at hand to reload it after a
//! `NOSCRIPT`) and a Redis 7 Functions library (`FUNCTION LOAD`: persisted in
//! the RDB/AOF and replicated). One source, `redis/creditpool.lua` in this
//! crate, shipped unchanged by every binding (its whole-line comments blanked
//! at build time by `build.rs`, line numbers kept).

use std::sync::OnceLock;

/// The script's source (the body shared by both forms): `redis/creditpool.lua`
/// with its whole-line comments blanked (see `build.rs`).
pub const SOURCE: &str = include_str!(concat!(env!("OUT_DIR"), "/creditpool.lua"));

/// The Functions library's name, and the one function it registers. The
/// version suffix changes whenever the script's interface does, so that old
/// and new workers never call each other's script.
pub const FUNCTION: &str = "creditpool_v2";

/// The EVAL form: the source, then `return dispatch(KEYS, ARGV)`.
pub fn eval_script() -> &'static str {
    static S: OnceLock<String> = OnceLock::new();
    S.get_or_init(|| format!("{SOURCE}\nreturn dispatch(KEYS, ARGV)\n"))
}

/// The SHA1 of [`eval_script`], lower-case hex: what `SCRIPT LOAD` answers
/// and `EVALSHA` takes.
pub fn eval_sha() -> &'static str {
    static S: OnceLock<String> = OnceLock::new();
    S.get_or_init(|| sha1_smol::Sha1::from(eval_script().as_bytes()).digest().to_string())
}

/// The Functions form: a `#!lua name=creditpool_v2` library registering
/// function `creditpool_v2`.
pub fn function_library() -> &'static str {
    static S: OnceLock<String> = OnceLock::new();
    S.get_or_init(|| {
        format!(
            "#!lua name={FUNCTION}\n{SOURCE}\nredis.register_function('{FUNCTION}', function(keys, args) return dispatch(keys, args) end)\n"
        )
    })
}

/// Whether an error reply means the script (or function) is not loaded on
/// the server that answered (`NOSCRIPT` after a restart, a `SCRIPT FLUSH` or
/// a failover; `Function not found` after a `FUNCTION FLUSH`): load it with
/// [`super::load_command`] and send the same command again.
pub fn is_reload_error(message: &str) -> bool {
    message.starts_with("NOSCRIPT") || message.contains("Function not found") || message.contains("function not found")
}

/// Whether an error reply to `FUNCTION LOAD` means the server has no
/// Functions (Redis before 7, or a proxy that does not pass them): use
/// [`super::ScriptMode::Eval`] instead.
pub fn is_functions_unsupported(message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    m.contains("unknown command") || m.contains("unknown subcommand")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_share_the_source() {
        assert!(eval_script().starts_with(SOURCE));
        assert!(function_library().starts_with("#!lua name=creditpool_v2\n"));
        assert!(function_library().contains(SOURCE));
        assert_eq!(eval_sha().len(), 40);
        assert!(is_reload_error("NOSCRIPT No matching script. Please use EVAL."));
        assert!(is_reload_error("ERR Function not found"));
        assert!(!is_reload_error("ERR syntax error"));
        assert!(is_functions_unsupported("ERR unknown command 'FUNCTION', with args beginning with: 'LOAD'"));
        assert!(!is_functions_unsupported("ERR Library 'x' already exists"));
    }
}
