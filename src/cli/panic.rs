//! The last line of defence: a panic anywhere in `plinth` prints a short
//! "internal error" with the command it interrupted and where to report it, not a raw
//! backtrace (set `RUST_BACKTRACE=1` to get one); `main` then exits with code 1.

/// Where to report an internal error.
pub const REPORT_TO: &str = "Plinth's issue tracker";

/// Installs the panic hook. `command` names what is running, e.g. `plinth plan`.
pub fn install_hook(command: String) {
    std::panic::set_hook(Box::new(move |info| {
        if crate::render::diagnostic::panics_are_quiet() {
            return;
        }
        let message = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "a panic without a message".to_string());
        if is_closed_pipe(&message) {
            // `plinth plan | head`: the reader went away. Not a bug; end as a C or Go
            // program killed by SIGPIPE would (Rust ignores the signal, so `print!` panics).
            std::process::exit(EXIT_CLOSED_PIPE);
        }
        let message = crate::render::diagnostic::escape(&message, 500);
        let place = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        eprintln!("{}", internal_error(&message, &place, &command));
        let backtrace = std::env::var_os("RUST_BACKTRACE").is_some_and(|v| v != "0");
        if backtrace {
            eprintln!("{}", std::backtrace::Backtrace::force_capture());
        }
    }));
}

/// The exit code when standard output or error was closed by its reader: 128 + SIGPIPE, what
/// a shell reports for a process the signal killed.
pub const EXIT_CLOSED_PIPE: i32 = 141;

/// Whether a panic is `print!`/`eprint!` failing on a pipe whose reader has gone.
pub fn is_closed_pipe(message: &str) -> bool {
    message.starts_with("failed printing to std") && message.contains("Broken pipe")
}

/// The message printed for a panic.
pub fn internal_error(message: &str, place: &str, command: &str) -> String {
    format!(
        "error: internal error: {message} (while running `{command}`{place})\n  \
         help: this is a bug in Plinth, not in your stack; please report it in {REPORT_TO} \
         with the command and, if you can, the stack (run with RUST_BACKTRACE=1 for a backtrace)"
    )
}

/// `plinth <command> [<subcommand>]` from the command line, without any values (which may
/// hold secrets): the first one or two arguments that are plain words.
pub fn command_summary(args: impl IntoIterator<Item = String>) -> String {
    let mut words = vec!["plinth".to_string()];
    for arg in args.into_iter().skip(1) {
        let is_word = !arg.is_empty()
            && arg.len() <= 20
            && arg.chars().all(|c| c.is_ascii_lowercase() || c == '-')
            && !arg.starts_with('-');
        if !is_word || words.len() == 3 {
            break;
        }
        words.push(arg);
    }
    words.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_summary_keeps_only_command_words() {
        let args = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            command_summary(args(&["plinth", "plan", "stacks/x"])),
            "plinth plan"
        );
        assert_eq!(
            command_summary(args(&["plinth", "state", "list", "--env", "prod"])),
            "plinth state list"
        );
        assert_eq!(
            command_summary(args(&["plinth", "--var", "password=hunter2"])),
            "plinth"
        );
    }

    #[test]
    fn the_message_names_the_command_and_where_to_report() {
        let text = internal_error("boom", " at src/x.rs:1", "plinth plan");
        assert!(text.starts_with(
            "error: internal error: boom (while running `plinth plan` at src/x.rs:1)"
        ));
        assert!(text.contains(REPORT_TO));
    }
}
