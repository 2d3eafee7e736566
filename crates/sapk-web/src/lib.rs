//! The recovery page for civil servants: three static files (no framework, no build step,
//! no third-party request), embedded in the binaries that serve them, and the security
//! headers they are served with. The local server serves them at `/`; deployed, the same
//! files go to S3 behind CloudFront with the API on the same origin under `/v1/*`.

#![cfg_attr(test, allow(clippy::too_many_lines))]

/// One file of the page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Asset {
    /// Where it is served (`/` for the page itself).
    pub path: &'static str,
    pub content_type: &'static str,
    pub body: &'static str,
}

/// Every file of the page.
pub const ASSETS: &[Asset] = &[
    Asset {
        path: "/",
        content_type: "text/html; charset=utf-8",
        body: include_str!("../static/index.html"),
    },
    Asset {
        path: "/app.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_str!("../static/app.js"),
    },
    Asset {
        path: "/app.css",
        content_type: "text/css; charset=utf-8",
        body: include_str!("../static/app.css"),
    },
];

/// The file served at `path` (`/index.html` is the page too).
pub fn asset(path: &str) -> Option<&'static Asset> {
    let path = if path == "/index.html" { "/" } else { path };
    ASSETS.iter().find(|a| a.path == path)
}

/// The Content-Security-Policy of the page: its own script and style only (no inline script
/// or style), the API on the same origin, QR codes as `data:` images, nothing framed.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; \
     base-uri 'none'; frame-ancestors 'none'";

/// Headers every file of the page is served with.
pub const SECURITY_HEADERS: &[(&str, &str)] = &[
    ("content-security-policy", CONTENT_SECURITY_POLICY),
    ("x-content-type-options", "nosniff"),
    ("referrer-policy", "no-referrer"),
    ("x-frame-options", "DENY"),
    ("cross-origin-opener-policy", "same-origin"),
    (
        "permissions-policy",
        "camera=(), microphone=(), geolocation=(), payment=()",
    ),
    ("cache-control", "no-cache"),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_loads_only_its_own_files_and_runs_no_inline_script() {
        let page = asset("/").unwrap().body;
        assert!(page.contains(r#"<script src="/app.js" defer></script>"#));
        assert!(page.contains(r#"<link rel="stylesheet" href="/app.css">"#));
        // No inline script or style, no handler attributes, no other origin.
        assert_eq!(page.matches("<script").count(), 1);
        assert!(!page.contains("<style"));
        assert!(!page.contains(" style="));
        assert!(!page.contains(" onclick=") && !page.contains(" onsubmit="));
        for a in ASSETS {
            assert!(
                !a.body.contains("http://") && !a.body.contains("https://cdn"),
                "{}",
                a.path
            );
        }
    }

    #[test]
    fn every_asset_is_found_by_its_path() {
        for a in ASSETS {
            assert_eq!(asset(a.path), Some(a));
        }
        assert_eq!(asset("/index.html").map(|a| a.path), Some("/"));
        assert_eq!(asset("/nothing"), None);
    }
}
