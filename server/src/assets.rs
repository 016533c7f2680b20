//! The built front end (web/dist), read into memory at start-up: requests
//! look names up in a map, so no file path is ever built from a URL.

use std::collections::HashMap;
use std::path::Path;

use axum::extract::{Path as UrlPath, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use bytes::Bytes;

use crate::state::AppState;

/// Largest tree read from web/dist, a guard against pointing it at `/`.
const MAX_TOTAL_BYTES: u64 = 64 * 1024 * 1024;

#[derive(Debug, Default)]
pub struct Assets {
    files: HashMap<String, (&'static str, Bytes)>,
    /// Why there are no assets, when there are none.
    pub missing: Option<String>,
}

impl Assets {
    /// Reads every file under `dir`, keyed by its path relative to `dir`
    /// with `/` separators.
    pub fn load(dir: &Path) -> Assets {
        let mut assets = Assets::default();
        if !dir.join("app.js").is_file() {
            assets.missing = Some(format!("{} has no app.js", dir.display()));
            return assets;
        }
        let mut total = 0u64;
        let mut stack = vec![dir.to_path_buf()];
        while let Some(d) = stack.pop() {
            let Ok(entries) = std::fs::read_dir(&d) else { continue };
            for entry in entries.flatten() {
                let path = entry.path();
                let Ok(kind) = entry.file_type() else { continue };
                if kind.is_dir() {
                    stack.push(path);
                } else if kind.is_file() {
                    let Ok(data) = std::fs::read(&path) else { continue };
                    total += data.len() as u64;
                    if total > MAX_TOTAL_BYTES {
                        tracing::warn!(dir = %dir.display(), "web assets over 64 MiB; the rest is not served");
                        return assets;
                    }
                    let Ok(rel) = path.strip_prefix(dir) else { continue };
                    let key = rel.components().map(|c| c.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/");
                    assets.files.insert(key.clone(), (mime_of(&key), Bytes::from(data)));
                }
            }
        }
        tracing::info!(files = assets.files.len(), dir = %dir.display(), "web assets loaded");
        assets
    }

    pub fn get(&self, name: &str) -> Option<&(&'static str, Bytes)> {
        self.files.get(name)
    }

    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }
}

fn mime_of(name: &str) -> &'static str {
    match name.rsplit_once('.').map(|(_, ext)| ext.to_ascii_lowercase()).as_deref() {
        Some("js" | "mjs") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("html") => "text/html; charset=utf-8",
        Some("json") => "application/json",
        Some("map") => "application/json",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("woff2") => "font/woff2",
        Some("woff") => "font/woff",
        Some("ttf") => "font/ttf",
        Some("ico") => "image/x-icon",
        Some("wasm") => "application/wasm",
        _ => "application/octet-stream",
    }
}

async fn asset(State(state): State<AppState>, UrlPath(name): UrlPath<String>) -> Response {
    match state.assets.get(&name) {
        Some((mime, data)) => {
            let mut resp = data.clone().into_response();
            resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(mime));
            resp.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
            resp
        }
        None => (StatusCode::NOT_FOUND, "no such asset; rebuild the front end with scripts/setup").into_response(),
    }
}

/// `/assets/{name}`: the built front end.
pub fn router() -> Router<AppState> {
    Router::new().route("/assets/{*name}", get(asset))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loads_a_tree_by_relative_name() {
        let dir = std::env::temp_dir().join(format!("rillet-assets-{}", crate::security::random_token()));
        std::fs::create_dir_all(dir.join("chunks")).unwrap();
        std::fs::write(dir.join("app.js"), "console.log(1)").unwrap();
        std::fs::write(dir.join("chunks/a.css"), "body{}").unwrap();
        let a = Assets::load(&dir);
        assert!(a.missing.is_none());
        assert_eq!(a.get("app.js").unwrap().0, "text/javascript; charset=utf-8");
        assert_eq!(&a.get("chunks/a.css").unwrap().1[..], b"body{}");
        assert!(a.get("../app.js").is_none());
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(Assets::load(&dir).missing.is_some());
    }
}
