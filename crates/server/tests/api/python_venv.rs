//! Python packages from PyPI for the tests, each in a virtual environment of its
//! own in the temporary folder: installed the first time (`python3` must be on the
//! path), reused by later runs.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The Python of the virtual environment `name`, with `package` installed; `check`
/// is Python code that succeeds when the installed version is the one wanted. The
/// environment is built under a unique name and renamed into place, so concurrent
/// test processes never see a half-installed one.
pub(crate) fn venv(name: &str, package: &str, check: &str) -> PathBuf {
    let home = std::env::temp_dir().join(name);
    let python = home.join("bin/python");
    if installed(&python, check) {
        return python;
    }
    let building =
        std::env::temp_dir().join(format!("{name}-build-{}", uuid::Uuid::new_v4().simple()));
    run(Command::new("python3").arg("-m").arg("venv").arg(&building));
    run(Command::new(building.join("bin/python")).args([
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        package,
    ]));
    if std::fs::rename(&building, &home).is_err() {
        // Another process got there first; theirs is as good as ours.
        let _ = std::fs::remove_dir_all(&building);
    }
    assert!(
        installed(&python, check),
        "{package} did not install into {}",
        home.display()
    );
    python
}

fn installed(python: &Path, check: &str) -> bool {
    Command::new(python)
        .args(["-c", check])
        .output()
        .is_ok_and(|out| out.status.success())
}

fn run(command: &mut Command) {
    let out = command
        .output()
        .unwrap_or_else(|e| panic!("cannot run {command:?}: {e}"));
    assert!(
        out.status.success(),
        "{command:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
