//! A closed standard output ends a command quietly.
//!
//! `println!` panics when its pipe's reader has gone (`warden registry list
//! | head -1`): Rust ignores SIGPIPE, so the write fails with EPIPE and the
//! macro turns that into a panic message on stderr. Closing the pipe is the
//! reader's choice, not Warden's failure, so the command ends the way a
//! Unix tool killed by SIGPIPE does: no message, exit status 141
//! (128 + SIGPIPE), which `set -o pipefail` scripts see as they would for
//! `yes | head`. Every other panic keeps the default report.

use std::any::Any;

/// The status a shell reports for a command ended by SIGPIPE.
pub const CLOSED_STDOUT_STATUS: i32 = 128 + 13;

/// Installs the panic hook; call once, first thing in `main`.
pub fn end_quietly_on_closed_stdout() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if is_closed_stdout(info.payload()) {
            std::process::exit(CLOSED_STDOUT_STATUS);
        }
        default(info);
    }));
}

/// Whether a panic is `print!`'s report of a write to a closed pipe
/// (EPIPE is error 32 on Linux and the BSDs).
fn is_closed_stdout(payload: &(dyn Any + Send)) -> bool {
    let message = payload
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| payload.downcast_ref::<&str>().copied())
        .unwrap_or_default();
    message.starts_with("failed printing to stdout") && message.contains("(os error 32)")
}

#[cfg(test)]
mod tests {
    use super::is_closed_stdout;

    #[test]
    fn only_a_closed_stdout_is_quiet() {
        let closed = String::from("failed printing to stdout: Broken pipe (os error 32)");
        assert!(is_closed_stdout(&closed));
        // Another write error on stdout (a full disk) is still reported.
        let full = String::from("failed printing to stdout: No space left on device (os error 28)");
        assert!(!is_closed_stdout(&full));
        // stderr's own failures, and unrelated panics, too.
        let stderr = String::from("failed printing to stderr: Broken pipe (os error 32)");
        assert!(!is_closed_stdout(&stderr));
        assert!(!is_closed_stdout(&"index out of bounds"));
        assert!(!is_closed_stdout(&42_u8));
    }
}
