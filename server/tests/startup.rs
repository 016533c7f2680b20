//! `rillet studio` as a process: PostgreSQL down, refusing a non-loopback
//! address without a secret, and a real start over a real socket (database
//! created, login URL printed, cookies, CSRF, graceful stop).

mod common;

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::TestDb;
use serde_json::json;

const BIN: &str = env!("CARGO_BIN_EXE_rillet");

fn studio(args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.arg("studio").args(args);
    for var in ["DATABASE_URL", "RILLET_STUDIO_ADDR", "RILLET_STUDIO_SECRET", "RILLET_STUDIO_DATABASE_URL"] {
        cmd.env_remove(var);
    }
    cmd.envs(env.iter().copied());
    cmd
}

/// Waits for `child` to exit, at most `limit`.
fn wait_exit(child: &mut Child, limit: Duration) -> std::process::ExitStatus {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("rillet studio did not exit within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn postgres_down_is_one_clear_line_with_the_password_hidden() {
    // Port 1 on loopback: nothing listens there.
    let url = "postgres://rillet:s3cret-pw@127.0.0.1:1/rillet";
    let mut child = studio(&["--addr", "127.0.0.1:0"], &[("DATABASE_URL", url)])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let status = wait_exit(&mut child, Duration::from_secs(30));
    let mut stderr = String::new();
    child.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
    assert!(!status.success(), "{stderr}");
    assert_eq!(status.code(), Some(1), "{stderr}");
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "one line, got: {stderr}");
    assert!(
        lines[0].starts_with("rillet studio: cannot reach PostgreSQL at postgres://rillet:***@127.0.0.1:1/rillet"),
        "{stderr}"
    );
    assert!(!stderr.contains("s3cret-pw"), "password leaked: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn refuses_a_public_address_without_a_secret() {
    let out = studio(&["--addr", "0.0.0.0:0"], &[]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("refusing to listen on 0.0.0.0:0 without a configured secret"), "{stderr}");
}

struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn starts_creates_its_database_and_serves_over_a_real_socket() {
    let db = TestDb::new(); // not created: the studio must create it
    let mut child = studio(&["--addr", "127.0.0.1:0", "--database-url", &db.url], &[])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let pid = child.id();
    let _guard = Running(child);
    // Read stdout on a thread until the login URL appears.
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(url) = line.trim().strip_prefix("http://").filter(|l| l.contains("/login?token=")) {
                let _ = tx.send(format!("http://{url}"));
            }
        }
    });
    let login = rx.recv_timeout(Duration::from_secs(60)).expect("the login URL is printed");
    let base = login.split("/login").next().unwrap().to_string();
    assert!(base.starts_with("http://127.0.0.1:"), "{login}");

    let jar = std::sync::Arc::new(reqwest::cookie::Jar::default());
    let http = reqwest::Client::builder().cookie_provider(jar.clone()).build().unwrap();
    let r = http.get(format!("{base}/api/pipelines")).send().await.unwrap();
    assert_eq!(r.status(), 401);

    // The login URL sets the cookies and lands on the shell.
    let r = http.get(&login).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.url().path(), "/");
    let cookies = {
        use reqwest::cookie::CookieStore;
        jar.cookies(&base.parse().unwrap()).unwrap().to_str().unwrap().to_string()
    };
    let csrf = cookies.split("; ").find_map(|c| c.strip_prefix("rillet_csrf=")).unwrap().to_string();

    let r = http.post(format!("{base}/api/pipelines")).json(&json!({"name": "over the wire"})).send().await.unwrap();
    assert_eq!(r.status(), 403, "no CSRF header");
    let r = http
        .post(format!("{base}/api/pipelines"))
        .header("X-Rillet-CSRF", &csrf)
        .json(&json!({"name": "over the wire"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let list: serde_json::Value = http.get(format!("{base}/api/pipelines")).send().await.unwrap().json().await.unwrap();
    assert_eq!(list[0]["name"], "over the wire");

    // SIGTERM stops it cleanly.
    let status = Command::new("kill").args(["-TERM", &pid.to_string()]).status().unwrap();
    assert!(status.success());
    let mut guard = _guard;
    let status = wait_exit(&mut guard.0, Duration::from_secs(30));
    assert!(status.success(), "{status:?}");
}
