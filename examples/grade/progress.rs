//! Which steps pass, kept between runs in a file under `target/` (never
//! among the learner's files): one passing step's name per line.

use std::collections::BTreeSet;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// The progress file.
pub struct Progress {
    path: PathBuf,
}

impl Progress {
    /// The file at `path`.
    pub fn at(path: impl Into<PathBuf>) -> Progress {
        Progress { path: path.into() }
    }

    /// `target/workshop-progress`, found from the grader's own path:
    /// `target/<profile>/examples/grade`, wherever CARGO_TARGET_DIR put it.
    pub fn in_target_dir(grader: &Path) -> Option<Progress> {
        let target = grader.parent()?.parent()?.parent()?;
        Some(Progress::at(target.join("workshop-progress")))
    }

    /// The steps that passed when they were last graded.
    pub fn passed(&self) -> BTreeSet<String> {
        match fs::read_to_string(&self.path) {
            Ok(text) => text.lines().map(str::to_string).collect(),
            // No file yet: nothing graded yet.
            Err(_) => BTreeSet::new(),
        }
    }

    /// Records the last grading of `step`: it passes now, or not any more.
    pub fn record(&self, step: &str, passes: bool) -> io::Result<()> {
        let mut passed = self.passed();
        if passes {
            passed.insert(step.to_string());
        } else {
            passed.remove(step);
        }
        let text: String = passed.iter().map(|step| format!("{step}\n")).collect();
        fs::write(&self.path, text)
    }
}
