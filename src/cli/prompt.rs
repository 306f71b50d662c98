//! Confirmation prompts, worded as Terraform's: a question, what it does, and only `yes`
//! accepted.

use std::io::{BufRead, IsTerminal, Write};

use miette::miette;

/// Asks `question` on the terminal and returns whether the answer was exactly `yes`.
/// Without a terminal on stdin nothing is asked: the error says what to do instead (`help`).
pub fn confirm(question: &str, detail: &str, refusing: &str, help: &str) -> miette::Result<bool> {
    if !std::io::stdin().is_terminal() {
        return Err(miette!(
            help = help.to_string(),
            "refusing to {refusing} without confirmation: stdin is not a terminal"
        ));
    }
    print!(
        "\n{question}\n  {detail}\n  Only `yes` will be accepted to confirm.\n\n  Enter a value: "
    );
    let _ = std::io::stdout().flush();
    let mut answer = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut answer)
        .map_err(|e| miette!("reading the answer: {e}"))?;
    Ok(answer.trim() == "yes")
}
