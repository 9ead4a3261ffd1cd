//! Output for people (text, progress bars on a terminal) or for scripts (`--json`).

use std::io::{IsTerminal, Write};

use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;

#[derive(Clone, Copy)]
pub struct Out {
    pub json: bool,
}

impl Out {
    /// Prints `value` as JSON with `--json`, otherwise the text `human` renders.
    pub fn emit<T: Serialize>(&self, value: &T, human: impl FnOnce(&T) -> String) {
        let text = if self.json {
            serde_json::to_string_pretty(value).unwrap_or_else(|_| "{}".into())
        } else {
            human(value)
        };
        write_stdout(&format!("{text}\n"));
    }

    /// A progress bar on stderr when it is a terminal and output is for people.
    pub fn progress(&self, total: u64, what: &str) -> ProgressBar {
        if self.json || !std::io::stderr().is_terminal() {
            return ProgressBar::hidden();
        }
        let bar = ProgressBar::new(total);
        bar.set_style(
            ProgressStyle::with_template("{msg:>10} [{bar:40}] {pos}/{len} ({per_sec}, eta {eta})")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        bar.set_message(what.to_owned());
        bar
    }
}

/// Writes to stdout. A reader that went away (`mamori ... | head`) is not an
/// error worth a panic: the command's work is done, so it ends quietly.
pub fn write_stdout(text: &str) {
    let mut stdout = std::io::stdout().lock();
    if let Err(e) = stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        eprintln!("error: cannot write output: {e}");
        std::process::exit(1);
    }
}
