//! Progress bars while pulling and pushing (indicatif, on stderr).
//!
//! indicatif's stderr target draws nothing when stderr is not a terminal, so CI logs and
//! pipes stay quiet without any check here; `enabled = false` silences a terminal too.

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

#[derive(Clone)]
pub(crate) struct Progress {
    multi: Option<MultiProgress>,
}

impl Progress {
    pub(crate) fn new(enabled: bool) -> Progress {
        Progress {
            multi: enabled.then(|| MultiProgress::with_draw_target(ProgressDrawTarget::stderr())),
        }
    }

    /// A bar for `len` bytes (a spinner when unknown), labelled with `label`.
    pub(crate) fn bar(&self, len: Option<u64>, label: String) -> ProgressBar {
        let Some(multi) = &self.multi else {
            return ProgressBar::hidden();
        };
        let bar = match len {
            Some(n) => {
                let b = ProgressBar::new(n);
                if let Ok(style) = ProgressStyle::with_template(
                    "{msg:40!} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec}",
                ) {
                    b.set_style(style.progress_chars("=> "));
                }
                b
            }
            None => ProgressBar::new_spinner(),
        };
        bar.set_message(label);
        multi.add(bar)
    }
}
