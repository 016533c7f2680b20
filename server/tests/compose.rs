//! docker-compose.yml is valid (Docker itself can't run on the project's
//! machines, so this checks the file with `docker-compose config`).

use std::path::Path;
use std::process::Command;

fn compose(secret: Option<&str>) -> Option<std::process::Output> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut cmd = Command::new("docker-compose");
    cmd.current_dir(&root).args(["-f", "docker-compose.yml", "config"]).env_remove("RILLET_STUDIO_SECRET");
    if let Some(s) = secret {
        cmd.env("RILLET_STUDIO_SECRET", s);
    }
    match cmd.output() {
        Ok(out) => Some(out),
        Err(e) => {
            // scripts/setup installs Debian's docker-compose; say so instead of failing elsewhere.
            println!("SKIPPED: docker-compose is not installed ({e}); scripts/setup installs it");
            None
        }
    }
}

#[test]
fn compose_file_is_valid_and_needs_a_secret() {
    let Some(out) = compose(Some(&"s".repeat(64))) else { return };
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}{}", stdout, String::from_utf8_lossy(&out.stderr));
    for service in ["postgres:", "redpanda:", "studio:"] {
        assert!(stdout.contains(service), "{service} missing:\n{stdout}");
    }
    assert!(stdout.contains("127.0.0.1"), "the studio is published on loopback only:\n{stdout}");

    let out = compose(None).expect("docker-compose ran a moment ago");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("RILLET_STUDIO_SECRET"));
}
